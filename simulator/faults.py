"""The fault catalogue: root kind, symptom signature, and the one remediation tool.

Effects are pure functions that degrade this tick's KPI matrices in place for
the entities a fault reaches along the topology (a link fault on every cell
behind the link, a UPF fault on every cell of every site the UPF serves).
Column indices follow :mod:`schemas.kpis`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from schemas import EntityKind

Matrices = dict[EntityKind, np.ndarray]
# effect(values, cells, root, severity): cells are the affected cell rows, root the root's row
Effect = Callable[[Matrices, np.ndarray, int, float], None]

# cell columns
PRB, TPUT, USERS, C_LAT, C_LOSS, CQI, BLER, HO, DROP = range(9)
# NF columns
CPU, MEM, REQ, ERR, NF_LAT = range(5)
# link columns
UTIL, L_LAT, L_LOSS = range(3)


@dataclass(frozen=True)
class FaultType:
    """One entry of the catalogue."""

    name: str
    root_kind: EntityKind
    remediation: str
    symptoms: str
    effect: Effect


def _cell_outage(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    c = v[EntityKind.CELL]
    c[root, [PRB, TPUT, USERS, CQI]] = 0.0


def _cell_congestion(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    c = v[EntityKind.CELL]
    c[root, PRB] = np.maximum(c[root, PRB], 0.97)
    c[root, C_LAT] += 60.0 * s
    c[root, DROP] += 0.04 * s
    c[root, TPUT] *= 1.0 - 0.3 * s


def _interference(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    c = v[EntityKind.CELL]
    c[root, CQI] -= 5.0 * s
    c[root, BLER] += 0.25 * s
    c[root, TPUT] *= 1.0 - 0.5 * s


def _antenna_misconfig(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    c = v[EntityKind.CELL]
    c[root, USERS] *= 1.0 - 0.6 * s
    c[root, TPUT] *= 1.0 - 0.5 * s
    c[root, HO] -= 0.15 * s


def _handover_failure(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    c = v[EntityKind.CELL]
    c[root, HO] -= 0.3 * s
    c[root, DROP] += 0.05 * s


def _upf_overload(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    nf = v[EntityKind.UPF]
    nf[root, CPU] = np.maximum(nf[root, CPU], 0.9 + 0.08 * s)
    nf[root, NF_LAT] += 60.0 * s
    nf[root, ERR] += 0.05 * s
    c = v[EntityKind.CELL]
    c[cells, C_LAT] += 40.0 * s
    c[cells, TPUT] *= 1.0 - 0.4 * s


def _amf_degradation(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    nf = v[EntityKind.AMF]
    nf[root, ERR] += 0.2 * s
    nf[root, NF_LAT] += 100.0 * s
    c = v[EntityKind.CELL]
    c[cells, HO] -= 0.12 * s


def _smf_session_failure(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    nf = v[EntityKind.SMF]
    nf[root, ERR] += 0.3 * s
    c = v[EntityKind.CELL]
    c[cells, USERS] *= 1.0 - 0.5 * s
    c[cells, DROP] += 0.04 * s


def _link_degradation(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    link = v[EntityKind.LINK]
    link[root, L_LAT] += 30.0 * s
    link[root, L_LOSS] += 0.03 * s
    c = v[EntityKind.CELL]
    c[cells, C_LAT] += 30.0 * s
    c[cells, C_LOSS] += 0.03 * s


def _link_down(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
    link = v[EntityKind.LINK]
    link[root, UTIL] = 0.0
    link[root, L_LOSS] = 1.0
    c = v[EntityKind.CELL]
    c[cells, TPUT] *= 0.02
    c[cells, C_LOSS] = np.maximum(c[cells, C_LOSS], 0.5)
    c[cells, C_LAT] += 200.0


CATALOGUE: tuple[FaultType, ...] = (
    FaultType("cell_outage", EntityKind.CELL, "restart_cell",
              "the cell's PRB use, throughput, users and CQI fall to zero", _cell_outage),
    FaultType("cell_congestion", EntityKind.CELL, "enable_load_balancing",
              "PRB use pinned near 100%, latency and drops up, throughput down", _cell_congestion),
    FaultType("interference", EntityKind.CELL, "retune_frequency",
              "CQI down, BLER up, throughput down", _interference),
    FaultType("antenna_misconfig", EntityKind.CELL, "set_antenna_tilt",
              "users and throughput down, handover success down", _antenna_misconfig),
    FaultType("handover_failure", EntityKind.CELL, "reset_neighbour_relations",
              "handover success down, drop rate up", _handover_failure),
    FaultType("upf_overload", EntityKind.UPF, "scale_out_upf",
              "UPF CPU, latency and errors up; latency up and throughput down on every cell "
              "of every site it serves", _upf_overload),
    FaultType("amf_degradation", EntityKind.AMF, "restart_amf",
              "AMF errors and latency up; handover success down on every cell it serves",
              _amf_degradation),
    FaultType("smf_session_failure", EntityKind.SMF, "restart_smf",
              "SMF errors up; active users down and drops up on every cell it serves",
              _smf_session_failure),
    FaultType("link_degradation", EntityKind.LINK, "reroute_link",
              "link latency and loss up; latency and loss up on every cell behind it",
              _link_degradation),
    FaultType("link_down", EntityKind.LINK, "failover_link",
              "link carries nothing and loses everything; cells behind it lose throughput, "
              "latency and loss soar", _link_down),
)

FAULT_TYPES: dict[str, FaultType] = {f.name: f for f in CATALOGUE}
REMEDIATION_TOOLS: frozenset[str] = frozenset(f.remediation for f in CATALOGUE)


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
    "restart_cell": SideEffect(_cell_outage, 3),
    "restart_amf": SideEffect(_nf_restarting(EntityKind.AMF), 3),
    "restart_smf": SideEffect(_nf_restarting(EntityKind.SMF), 3),
}
ROLLBACK_TOOL = "rollback_change"
"""Restores an entity's configuration from before its last reversible change."""
