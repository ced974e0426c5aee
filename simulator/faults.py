"""The fault catalogue: root kinds, symptom repertoires, the remediation tool, and what a fix needs.

Each fault type has a repertoire of symptoms per root kind (one or several
variants); an episode draws from it (:mod:`simulator.episode`), so two faults
of one type never look identical outside the ideal world. ``need`` names the
tool parameter whose value decides whether a call fixes the fault.
:data:`CATALOGUE` holds the ten fixable types, each with its one remediation
tool; :data:`HARDWARE_FAILURE` no tool fixes. Column names follow
:mod:`schemas.kpis`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from schemas import EntityKind
from simulator.symptoms import Symptom

Matrices = dict[EntityKind, np.ndarray]
# effect(values, cells, root, severity): cells are the affected cell rows, root the root's row
Effect = Callable[[Matrices, np.ndarray, int, float], None]

# cell columns
PRB, TPUT, USERS, C_LAT, C_LOSS, CQI, BLER, HO, DROP = range(9)
# NF columns
CPU, MEM, REQ, ERR, NF_LAT = range(5)
# link columns
UTIL, L_LAT, L_LOSS = range(3)

EQUIPMENT = "equipment"  # X.733 probable-cause family of hardware alarms
NF_KINDS = (EntityKind.UPF, EntityKind.SMF, EntityKind.AMF)


@dataclass(frozen=True)
class Variant:
    """One way a fault type shows on a root of some kind; episodes pick variants by weight."""

    weight: float
    symptoms: tuple[Symptom, ...]


@dataclass(frozen=True)
class FaultType:
    """One entry of the catalogue."""

    name: str
    root_kinds: tuple[EntityKind, ...]
    remediation: str | None
    symptoms: str
    repertoire: Mapping[EntityKind, tuple[Variant, ...]]
    need: str | None = None
    alarm: tuple[str, str] | None = None  # (text, probable cause) the equipment raises
    onsets: tuple[str, ...] = ("step", "ramp", "intermittent")  # hard failures do not ramp

    @property
    def root_kind(self) -> EntityKind:
        """The kind a random fault of this type is drawn on."""
        return self.root_kinds[0]

    @property
    def fixable(self) -> bool:
        return self.remediation is not None

    def alarm_of(self, kind: EntityKind) -> tuple[str, str] | None:
        """The alarm (text, probable cause) equipment of ``kind`` raises for this fault, if any."""
        if self.alarm is None:
            return None
        text, cause = self.alarm
        if cause == EQUIPMENT:
            text = "radio unit hardware fault" if kind is EntityKind.CELL else "blade hardware fault"
        return text, cause


def S(where: str, kpi: str, op: str, size: float, **kw: object) -> Symptom:
    return Symptom(where, kpi, op, size, **kw)  # type: ignore[arg-type]


def _one(kind: EntityKind, *symptoms: Symptom) -> dict[EntityKind, tuple[Variant, ...]]:
    return {kind: (Variant(1.0, symptoms),)}


_EXTRA = {"classic": False}  # a symptom the ideal world never shows


def _extra(p: float) -> dict[str, object]:
    return {**_EXTRA, "p": p}


_ABRUPT = ("step", "intermittent")
_DARK_CELL = (S("root", "prb_utilization_ratio", "set", 0.0), S("root", "throughput_mbps", "set", 0.0),
              S("root", "active_users", "set", 0.0), S("root", "cqi", "set", 0.0))
_NEIGHBOURS_TAKE_USERS = (S("siblings", "active_users", "scale", -0.25, **_extra(0.6)),
                          S("siblings", "prb_utilization_ratio", "add", 0.08, **_extra(0.6)))

CATALOGUE: tuple[FaultType, ...] = (
    FaultType("cell_outage", (EntityKind.CELL,), "restart_cell",
              "the cell's PRB use, throughput, users and CQI fall to zero; its neighbours may take its users",
              _one(EntityKind.CELL, *_DARK_CELL, *_NEIGHBOURS_TAKE_USERS),
              alarm=("cell disabled", "processing"), onsets=_ABRUPT),
    FaultType("cell_congestion", (EntityKind.CELL,), "enable_load_balancing",
              "more users than the cell can serve: PRB use pinned near 100%, latency and drops up, "
              "throughput down", _one(
                  EntityKind.CELL, S("root", "prb_utilization_ratio", "floor", 0.97, scaled=False),
                  S("root", "latency_ms", "add", 60.0), S("root", "drop_rate_ratio", "add", 0.04),
                  S("root", "throughput_mbps", "scale", 0.3),
                  S("root", "active_users", "scale", -1.0, load=True, **_EXTRA)),
              need="offload_ratio"),
    FaultType("interference", (EntityKind.CELL,), "retune_frequency", "CQI down, BLER up, throughput down",
              _one(EntityKind.CELL, S("root", "cqi", "add", -5.0), S("root", "bler_ratio", "add", 0.25),
                   S("root", "throughput_mbps", "scale", 0.5),
                   S("root", "drop_rate_ratio", "add", 0.01, **_extra(0.3)),
                   S("root", "handover_success_ratio", "add", -0.03, **_extra(0.3)))),
    FaultType("antenna_misconfig", (EntityKind.CELL,), "set_antenna_tilt",
              "users and throughput down, handover success down; neighbours may take the users",
              _one(EntityKind.CELL, S("root", "handover_success_ratio", "add", -0.15),
                   S("root", "active_users", "scale", 0.6), S("root", "throughput_mbps", "scale", 0.5),
                   S("root", "cqi", "add", -1.5, **_extra(0.4)), *_NEIGHBOURS_TAKE_USERS),
              need="tilt_deg"),
    FaultType("handover_failure", (EntityKind.CELL,), "reset_neighbour_relations",
              "handover success down, drop rate up",
              _one(EntityKind.CELL, S("root", "handover_success_ratio", "add", -0.3),
                   S("root", "drop_rate_ratio", "add", 0.05),
                   S("root", "latency_ms", "add", 5.0, **_extra(0.3)))),
    FaultType("upf_overload", (EntityKind.UPF,), "scale_out_upf",
              "more traffic than the UPF can handle: CPU, latency and errors up; latency up and "
              "throughput down on the cells of the sites it serves", _one(
                  EntityKind.UPF, S("root", "cpu_utilization_ratio", "floor", 0.9, slope=0.08),
                  S("root", "latency_ms", "add", 60.0), S("root", "error_rate_ratio", "add", 0.05),
                  S("root", "request_rate_per_s", "scale", -1.0, load=True, **_EXTRA),
                  S("root", "memory_utilization_ratio", "add", 0.1, **_extra(0.5)),
                  S("cells", "latency_ms", "add", 40.0), S("cells", "throughput_mbps", "scale", 0.4),
                  S("cells", "packet_loss_ratio", "add", 0.01, **_extra(0.3))),
              need="instances"),
    FaultType("amf_degradation", (EntityKind.AMF,), "restart_amf",
              "AMF errors and latency up; handover success down on the cells it serves", _one(
                  EntityKind.AMF, S("root", "error_rate_ratio", "add", 0.2),
                  S("root", "latency_ms", "add", 100.0),
                  S("root", "cpu_utilization_ratio", "add", 0.2, **_extra(0.4)),
                  S("cells", "handover_success_ratio", "add", -0.12),
                  S("cells", "drop_rate_ratio", "add", 0.01, **_extra(0.3)))),
    FaultType("smf_session_failure", (EntityKind.SMF,), "restart_smf",
              "SMF errors up; active users down and drops up on the cells it serves", _one(
                  EntityKind.SMF, S("root", "error_rate_ratio", "add", 0.3),
                  S("root", "latency_ms", "add", 30.0, **_extra(0.4)),
                  S("cells", "active_users", "scale", 0.5), S("cells", "drop_rate_ratio", "add", 0.04))),
    FaultType("link_degradation", (EntityKind.LINK,), "reroute_link",
              "link latency and loss up; latency and loss up on the cells behind it", _one(
                  EntityKind.LINK, S("root", "latency_ms", "add", 30.0),
                  S("root", "packet_loss_ratio", "add", 0.03),
                  S("cells", "latency_ms", "add", 30.0), S("cells", "packet_loss_ratio", "add", 0.03),
                  S("cells", "throughput_mbps", "scale", 0.2, **_extra(0.4))),
              need="max_utilization_ratio"),
    FaultType("link_down", (EntityKind.LINK,), "failover_link",
              "link carries nothing and loses everything; cells behind it lose throughput, latency and "
              "loss soar", _one(
                  EntityKind.LINK, S("root", "utilization_ratio", "set", 0.0),
                  S("root", "packet_loss_ratio", "set", 1.0), S("cells", "throughput_mbps", "mul", 0.02),
                  S("cells", "packet_loss_ratio", "floor", 0.5, scaled=False),
                  S("cells", "latency_ms", "add", 200.0, scaled=False)),
              alarm=("loss of signal", "communications"), onsets=_ABRUPT),
)

_BLADE = Variant(1.0, (S("root", "error_rate_ratio", "add", 0.25), S("root", "latency_ms", "add", 80.0),
                       S("root", "cpu_utilization_ratio", "add", 0.3, **_extra(0.5)),
                       S("cells", "drop_rate_ratio", "add", 0.03),
                       S("cells", "latency_ms", "add", 15.0, **_extra(0.5))))
HARDWARE_FAILURE = FaultType(
    "hardware_failure", (EntityKind.CELL, *NF_KINDS), None,
    "a radio unit or a blade fails: a cell goes dark or degrades (throughput, users and CQI down, BLER "
    "up); an NF's errors and latency rise with drops on its cells. The equipment raises a hardware "
    "alarm; no tool fixes it, a person must",
    {EntityKind.CELL: (Variant(0.5, _DARK_CELL),
                       Variant(0.5, (S("root", "throughput_mbps", "scale", 0.6),
                                     S("root", "active_users", "scale", 0.4), S("root", "cqi", "add", -3.0),
                                     S("root", "bler_ratio", "add", 0.15)))),
     **{k: (_BLADE,) for k in NF_KINDS}},
    alarm=("hardware fault", EQUIPMENT), onsets=_ABRUPT)

FAULT_TYPES: dict[str, FaultType] = {f.name: f for f in (*CATALOGUE, HARDWARE_FAILURE)}
REMEDIATION_TOOLS: frozenset[str] = frozenset(f.remediation for f in CATALOGUE if f.remediation)
RESTART_TOOLS: frozenset[str] = frozenset({"restart_cell", "restart_amf", "restart_smf"})


# What a remediation does to an entity that was not broken: a reconfiguration
# costs a little until it is rolled back; a restart interrupts service for a while.
def _detour(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    v[EntityKind.LINK][root, L_LAT] += 6.0
    v[EntityKind.CELL][cells, C_LAT] += 6.0


def _offload(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    v[EntityKind.CELL][root, TPUT] *= 0.85


def _off_carrier(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    c = v[EntityKind.CELL]
    c[root, CQI] -= 1.0
    c[root, BLER] += 0.03


def _overtilt(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    c = v[EntityKind.CELL]
    c[root, USERS] *= 0.8
    c[root, HO] -= 0.03


def _idle_capacity(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    """Extra UPF instances cost money, not KPIs."""


def _relearning(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    v[EntityKind.CELL][root, HO] -= 0.05


def _cell_restarting(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    v[EntityKind.CELL][root, [PRB, TPUT, USERS, CQI]] = 0.0


def _nf_restarting(kind: EntityKind) -> Effect:
    def effect(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
        v[kind][root, ERR] += 0.5
        v[EntityKind.CELL][cells, DROP] += 0.05
    return effect


@dataclass(frozen=True)
class SideEffect:
    """What a tool does to a healthy target: until rolled back (``ticks`` None) or for ``ticks``."""

    effect: Effect
    ticks: int | None


SIDE_EFFECTS: dict[str, SideEffect] = {
    "reroute_link": SideEffect(_detour, None),
    "failover_link": SideEffect(_detour, None),
    "enable_load_balancing": SideEffect(_offload, None),
    "retune_frequency": SideEffect(_off_carrier, None),
    "set_antenna_tilt": SideEffect(_overtilt, None),
    "scale_out_upf": SideEffect(_idle_capacity, None),
    "reset_neighbour_relations": SideEffect(_relearning, 10),
    "restart_cell": SideEffect(_cell_restarting, 3),
    "restart_amf": SideEffect(_nf_restarting(EntityKind.AMF), 3),
    "restart_smf": SideEffect(_nf_restarting(EntityKind.SMF), 3),
}
ROLLBACK_TOOL = "rollback_change"
"""Restores an entity's configuration from before its last reversible change."""
