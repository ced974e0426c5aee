"""The simulated network: topology, healthy KPIs, active faults, reaction to tool calls.

A :class:`Network` is stepped one tick at a time and returns that tick's
telemetry frames; remediation tool calls end the faults they fix. It keeps the
ground truth of every fault, so a run can be scored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from schemas import EntityKind, TelemetryFrame, TopologyEntity, kpi_names
from simulator.faults import FAULT_TYPES, ROLLBACK_TOOL, SIDE_EFFECTS, FaultType, SideEffect
from simulator.plan import PlannedFault, plan_faults
from simulator.scenario import Scenario
from simulator.topology import Topology
from simulator.traffic import KindModel, build_models, daily_load

SHARD_SITES = 16  # sites per telemetry shard; core NFs share one shard


@dataclass
class FaultRecord:
    """Ground truth of one fault."""

    fault_id: str
    type: str
    root: str
    start: int
    severity: float
    natural_end: int | None  # None: lasts until remediated
    end: int | None = None
    ended_by: str | None = None  # "action", "natural", or None while active / at end of run


@dataclass(frozen=True)
class ToolOutcome:
    """What a remediation call did to the network."""

    fixed: tuple[str, ...]
    detail: str


@dataclass
class _Active:
    record: FaultRecord
    kind: FaultType
    root_index: int
    cells: np.ndarray


@dataclass
class _Change:
    """A remediation applied to an entity it did not fix, and what it costs there."""

    tool: str
    target: str
    side: SideEffect
    root_index: int
    cells: np.ndarray
    until: int | None  # tick it wears off; None: until rolled back


@dataclass
class Network:
    """A seeded network that evolves tick by tick."""

    scenario: Scenario
    topology: Topology
    models: dict[EntityKind, KindModel]
    rng: np.random.Generator
    plan: list[PlannedFault]
    tick: int = 0
    truth: list[FaultRecord] = field(default_factory=list)
    actions: list[tuple[int, str, str, tuple[str, ...]]] = field(default_factory=list)
    rollbacks: list[tuple[int, str, str]] = field(default_factory=list)
    """``(tick, target, tool undone)`` of every rollback of a change."""
    _active: list[_Active] = field(default_factory=list)
    _changes: list[_Change] = field(default_factory=list)
    _latest: dict[EntityKind, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Network:
        rng = np.random.default_rng(scenario.seed)
        t = scenario.topology
        topo = Topology.build(sites=t.sites, cells_per_site=t.cells_per_site, upf=t.upf,
                              smf=t.smf, amf=t.amf)
        counts = {k: len(v) for k, v in topo.ids.items()}
        models = build_models(counts, rng)
        plan = plan_faults(scenario, topo, rng)
        return cls(scenario=scenario, topology=topo, models=models, rng=rng, plan=plan)

    @property
    def done(self) -> bool:
        return self.tick >= self.scenario.ticks

    def step(self) -> list[TelemetryFrame]:
        """Advance one tick; return its telemetry frames."""
        t = self.tick
        self._start_and_end_faults(t)
        load = daily_load(t * self.scenario.tick_seconds)
        values = {kind: m.sample(load, self.rng) for kind, m in self.models.items()}
        for a in self._active:
            a.kind.effect(values, a.cells, a.root_index, a.record.severity)
        for c in self._changes:
            c.side.effect(values, c.cells, c.root_index, 1.0)
        for kind, m in self.models.items():
            np.clip(values[kind], m.low, m.high, out=values[kind])
        self.tick += 1
        self._latest = values
        return self._frames(t, values)

    def apply(self, tool: str, target: str) -> ToolOutcome:
        """Execute a remediation tool on ``target``; it ends the faults it is the fix for.

        On an entity it does not fix, a tool costs something (:data:`SIDE_EFFECTS`):
        a reconfiguration until it is rolled back (``rollback_change``), a
        restart for a few ticks.

        Raises
        ------
        KeyError
            When ``target`` is not an entity of this network.
        """
        kind, index = self.topology.index(target)
        if tool == ROLLBACK_TOOL:
            return self._rollback(target)
        fixed = [a for a in self._active if a.record.root == target and a.kind.remediation == tool]
        for a in fixed:
            a.record.end, a.record.ended_by = self.tick, "action"
            self._active.remove(a)
        ids = tuple(a.record.fault_id for a in fixed)
        self.actions.append((self.tick, tool, target, ids))
        if ids:
            return ToolOutcome(ids, f"{tool} on {target} cleared {', '.join(ids)}")
        side = SIDE_EFFECTS.get(tool)
        if side is not None:
            until = None if side.ticks is None else self.tick + side.ticks
            self._changes.append(_Change(tool, target, side, index, self._cells_behind(kind, index), until))
        return ToolOutcome((), f"{tool} on {target} changed nothing that was broken")

    def _rollback(self, target: str) -> ToolOutcome:
        mine = [c for c in self._changes if c.target == target and c.until is None]
        if not mine:
            return ToolOutcome((), f"{target} has no change to roll back")
        self._changes.remove(mine[-1])
        self.rollbacks.append((self.tick, target, mine[-1].tool))
        return ToolOutcome((), f"rolled back {mine[-1].tool} on {target}")

    def changes(self) -> list[tuple[str, str]]:
        """``(tool, target)`` of the changes still costing something."""
        return [(c.tool, c.target) for c in self._changes]

    @property
    def latest(self) -> dict[EntityKind, np.ndarray]:
        """Last tick's KPI matrices per kind (columns in catalogue order)."""
        return self._latest

    def latest_kpis(self, entity_id: str) -> dict[str, float]:
        """The KPIs ``entity_id`` reported at the last tick (empty before the first).

        Raises
        ------
        KeyError
            When ``entity_id`` is not an entity of this network.
        """
        kind, i = self.topology.index(entity_id)
        if kind not in self._latest:
            return {}
        return dict(zip(kpi_names(kind), self._latest[kind][i].tolist(), strict=True))

    def alarms(self) -> list[tuple[str, str]]:
        """Alarms the equipment raises itself: ``(entity id, text)``.

        Only hard failures raise alarms (a cell that is down, a link without
        light); degradations are silent, as they are in real networks.
        """
        texts = {"cell_outage": "cell disabled", "link_down": "loss of signal"}
        return [(a.record.root, texts[a.record.type]) for a in self._active if a.record.type in texts]

    def active_faults(self) -> list[FaultRecord]:
        return [a.record for a in self._active]

    def topology_records(self) -> list[TopologyEntity]:
        """The topology as records (it does not change during a run)."""
        return self._topology_records

    @cached_property
    def _topology_records(self) -> list[TopologyEntity]:
        return self.topology.records()

    def twin(self) -> Network:
        """An independent copy to try actions on (the digital twin)."""
        return copy.deepcopy(self)

    def _start_and_end_faults(self, t: int) -> None:
        for a in [a for a in self._active if a.record.natural_end == t]:
            a.record.end, a.record.ended_by = t, "natural"
            self._active.remove(a)
        self._changes = [c for c in self._changes if c.until is None or c.until > t]
        for p in self.plan:
            if p.at == t:
                self._start(p, t)

    def _start(self, p: PlannedFault, t: int) -> None:
        kind = FAULT_TYPES[p.type]
        root_kind, root_index = self.topology.index(p.target)
        rec = FaultRecord(fault_id=f"F{len(self.truth) + 1:03d}", type=p.type, root=p.target,
                          start=t, severity=p.severity,
                          natural_end=None if p.duration is None else t + p.duration)
        self.truth.append(rec)
        self._active.append(_Active(rec, kind, root_index, self._cells_behind(root_kind, root_index)))

    def _cells_behind(self, kind: EntityKind, index: int) -> np.ndarray:
        topo = self.topology
        if kind is EntityKind.CELL:
            return np.array([index])
        if kind is EntityKind.LINK:
            return topo.cells_of_sites(np.array([index]))
        return topo.cells_of_sites(topo.sites_served_by(kind, index))

    def _frames(self, t: int, values: dict[EntityKind, np.ndarray]) -> list[TelemetryFrame]:
        ts = t * self.scenario.tick_seconds
        frames = []
        for kind, matrix in values.items():
            ids = self.topology.ids[kind]
            for shard, rows in self._shards(kind):
                frames.append(TelemetryFrame.model_construct(
                    shard=shard, tick=t, timestamp_s=ts, kind=kind,
                    entity_ids=ids[rows], kpis=list(kpi_names(kind)),
                    values=matrix[rows].tolist(), schema_version=1))
        return frames

    def _shards(self, kind: EntityKind) -> list[tuple[str, slice]]:
        if kind not in (EntityKind.CELL, EntityKind.LINK):
            return [("core", slice(None))]
        per_site = len(self.topology.ids[kind]) // self.topology.sites
        out = []
        for first in range(0, self.topology.sites, SHARD_SITES):
            last = min(first + SHARD_SITES, self.topology.sites)
            out.append((f"sites-{first + 1:04d}-{last:04d}", slice(first * per_site, last * per_site)))
        return out
