"""The simulated network: topology, healthy KPIs, fault episodes, benign events, reaction to tool calls.

A :class:`Network` is stepped one tick at a time and returns the telemetry
frames that reach the bus at that tick (through an imperfect channel). Tool
calls act on the truth; the topology it publishes may be wrong in places. It
keeps the ground truth of every fault, so a run can be scored — only the
scorer may read it.

Random streams are separate: the healthy models and noise, and the fault plan,
draw from the scenario's seed as they always did; benign events, the
telemetry channel and the published topology each have a generator of their
own, and every fault episode one seeded by what it is (type, root, start), so
adding an event never changes the healthy values, and what the loop does to
one fault never changes how another unfolds.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from schemas import AlarmEvent, EntityKind, MaintenanceWindow, TelemetryFrame, TopologyEntity, kpi_names
from simulator.benign import BenignEvents
from simulator.channel import TelemetryChannel
from simulator.episode import Episode
from simulator.faults import (
    FAULT_TYPES,
    RESTART_TOOLS,
    ROLLBACK_TOOL,
    SIDE_EFFECTS,
    Effect,
    _nf_restarting,
)
from simulator.frames import frames
from simulator.plan import PlannedFault, plan_benign, plan_faults
from simulator.remedy import adequacy, delay_ticks, right_call_costs
from simulator.scenario import Scenario
from simulator.topology import Topology, perturbed
from simulator.traffic import KindModel, build_models, daily_load
from simulator.truth import FaultRecord, ToolOutcome


@dataclass(eq=False)  # one running fault: found and removed by identity
class _Active:
    record: FaultRecord
    episode: Episode
    alarm: tuple[str, str] | None


@dataclass(eq=False)
class _Change:
    """Something a call left in the network, what it costs there, and until when.

    Compared by identity: two like changes are two changes (and field equality would compare
    their ``cells`` arrays, whose truth value is ambiguous).
    """

    tool: str
    target: str
    effect: Effect
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
    benign: BenignEvents
    channel: TelemetryChannel
    world: np.random.Generator
    published: list[TopologyEntity]
    tick: int = 0
    truth: list[FaultRecord] = field(default_factory=list)
    actions: list[tuple[int, str, str, tuple[str, ...]]] = field(default_factory=list)
    rollbacks: list[tuple[int, str, str]] = field(default_factory=list)
    """``(tick, target, tool undone)`` of every rollback of a change."""
    _active: list[_Active] = field(default_factory=list)
    _changes: list[_Change] = field(default_factory=list)
    _latest: dict[EntityKind, np.ndarray] = field(default_factory=dict)
    _pending: list[PlannedFault] = field(default_factory=list)
    _raised: dict[str, AlarmEvent] = field(default_factory=dict)
    _notices: list[AlarmEvent | MaintenanceWindow] = field(default_factory=list)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Network:
        rng = np.random.default_rng(scenario.seed)
        t = scenario.topology
        topo = Topology.build(sites=t.sites, cells_per_site=t.cells_per_site, upf=t.upf,
                              smf=t.smf, amf=t.amf)
        counts = {k: len(v) for k, v in topo.ids.items()}
        models = build_models(counts, rng)
        plan = plan_faults(scenario, topo, rng)
        events_rng = np.random.default_rng([scenario.seed, 2])
        benign = BenignEvents(plan_benign(scenario, topo, events_rng), topo, events_rng)
        channel = TelemetryChannel(scenario.telemetry, np.random.default_rng([scenario.seed, 3]))
        published = perturbed(topo.records(), scenario.realism.topology_errors,
                              np.random.default_rng([scenario.seed, 4]))
        return cls(scenario=scenario, topology=topo, models=models, rng=rng, plan=plan, benign=benign,
                   channel=channel, world=np.random.default_rng([scenario.seed, 1]), published=published)

    @property
    def done(self) -> bool:
        return self.tick >= self.scenario.ticks

    def step(self) -> list[TelemetryFrame]:
        """Advance one tick; return the telemetry frames that reach the bus at it."""
        t = self.tick
        self._start_and_end_faults(t)
        self._notices += self.benign.announcements(t)
        load = daily_load(t * self.scenario.tick_seconds)
        values = {kind: m.sample(load, self.rng) for kind, m in self.models.items()}
        self.benign.apply(values, t)
        for a in self._active:
            a.episode.apply(values, t)
        for c in self._changes:
            c.effect(values, c.cells, c.root_index, 1.0)
        for kind, m in self.models.items():
            np.clip(values[kind], m.low, m.high, out=values[kind])
        self.tick += 1
        self._latest = values
        self._update_alarms(t)
        reported = self.channel.reset_counters(values)
        return self.channel.send(t, frames(self.topology, t, t * self.scenario.tick_seconds, reported))

    def apply(self, tool: str, target: str, parameters: Mapping[str, Any] | None = None) -> ToolOutcome:
        """Execute a remediation tool with ``parameters`` on ``target``.

        The right tool on a fault's root fixes it as far as its parameters reach
        (:mod:`simulator.remedy`); the KPIs then recover over a few ticks. On an
        entity it does not fix, a tool costs something (:data:`SIDE_EFFECTS`): a
        reconfiguration until it is rolled back (``rollback_change``), a restart
        for a few ticks. A restart of an entity whose hardware failed fails.

        Raises
        ------
        KeyError
            When ``target`` is not an entity of this network.
        """
        kind, index = self.topology.index(target)
        params = dict(parameters or {})
        if tool == ROLLBACK_TOOL:
            return self._rollback(target)
        mine = [a for a in self._active if a.record.root == target]
        if tool in RESTART_TOOLS and any(not a.record.fixable for a in mine):
            self.actions.append((self.tick, tool, target, ()))
            return ToolOutcome((), f"{tool} on {target}: it did not come back up (hardware fault)", ok=False)
        fixed, partly = self._remedy([a for a in mine if a.episode.type.remediation == tool
                                      and not a.episode.fixed], tool, kind, index, params)
        ids = tuple(a.record.fault_id for a in fixed)
        self.actions.append((self.tick, tool, target, ids))
        if ids:
            return ToolOutcome(ids, f"{tool} on {target} cleared {', '.join(ids)}")
        if partly:
            some = tuple(a.record.fault_id for a in partly)
            return ToolOutcome((), f"{tool} on {target} relieved {', '.join(some)} in part", partly=some)
        side = SIDE_EFFECTS.get(tool)
        if side is not None:
            until = None if side.ticks is None else self.tick + side.ticks
            cells = self.topology.cells_behind(kind, index)
            self._changes.append(_Change(tool, target, side.effect, index, cells, until))
        return ToolOutcome((), f"{tool} on {target} changed nothing that was broken")

    def _remedy(self, targeted: list[_Active], tool: str, kind: EntityKind, index: int,
                params: dict[str, Any]) -> tuple[list[_Active], list[_Active]]:
        realism, now = self.scenario.realism, self.tick
        link, alt = self._paths(kind, index)
        fixed, partly = [], []
        for a in targeted:
            share = adequacy(a.episode, params, realism, latest=self._latest, link=link, alternative=alt)
            if share <= 0.0:
                continue
            lo, hi = realism.recovery_ticks
            rng = a.episode.rng or self.world
            recovery = int(rng.integers(lo, hi + 1))
            whole = a.episode.fix(share, now=now, delay=delay_ticks(tool, params, realism, rng),
                                  recovery=recovery)
            if whole:
                a.record.fixed_tick = now
                fixed.append(a)
                self._maybe_recur(a)
            else:
                partly.append(a)
            for cost in right_call_costs(tool, params, realism, latest=self._latest, share=share, link=link,
                                         alternative=alt, restart=_nf_restarting(kind) if kind in (
                                             EntityKind.AMF, EntityKind.SMF) else None,
                                         cells=self.topology.cells_behind(kind, index), index=index):
                until = None if cost.ticks is None else now + cost.ticks
                self._changes.append(_Change(tool, a.record.root, cost.effect, cost.root, cost.cells, until))
        for a in fixed:
            if a.episode.over(now):
                self._end(a, now, "action")
        return fixed, partly

    def _paths(self, kind: EntityKind, index: int) -> tuple[int | None, int | None]:
        """A link's index and its alternative path's (the next site's backhaul), when it has one."""
        n = len(self.topology.ids[EntityKind.LINK])
        if kind is not EntityKind.LINK:
            return None, None
        return index, ((index + 1) % n if n > 1 else None)

    def _maybe_recur(self, a: _Active) -> None:
        rng = a.episode.rng or self.world
        if rng.random() >= self.scenario.realism.recurrence:
            return
        at = self.tick + int(rng.integers(40, 151))
        if at < self.scenario.ticks:
            r = a.record
            self._pending.append(PlannedFault(r.type, r.root, at, None, r.severity, recurs=r.fault_id))

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
        """Last tick's KPI matrices per kind (columns in catalogue order), as the network measured them."""
        return self._latest

    def latest_kpis(self, entity_id: str) -> dict[str, float]:
        """The KPIs ``entity_id`` measured at the last tick (empty before the first).

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

        Hard failures raise alarms (a cell that is down, a link without light, failed
        hardware), a few ticks late; degradations are silent, as they are in real networks.
        """
        return [(a.entity_id, a.text) for a in self._raised.values()]

    def notices(self) -> list[AlarmEvent | MaintenanceWindow]:
        """Alarms raised or cleared and maintenance windows announced since the last call."""
        out, self._notices = self._notices, []
        return out

    def maintenance_calendar(self) -> list[MaintenanceWindow]:
        """The maintenance windows announced and not yet over."""
        return self.benign.calendar(self.tick)

    def active_faults(self) -> list[FaultRecord]:
        return [a.record for a in self._active]

    def topology_records(self) -> list[TopologyEntity]:
        """The topology as published: it does not change during a run, and may be wrong in places."""
        return self.published

    @cached_property
    def true_topology(self) -> list[TopologyEntity]:
        """The topology the network acts on (the scorer's, not the loop's)."""
        return self.topology.records()

    def _update_alarms(self, t: int) -> None:
        for a in self._active:
            alarm_id = f"AL-{a.record.fault_id}"
            if a.alarm and alarm_id not in self._raised and t >= a.record.start + a.episode.alarm_delay:
                text, cause = a.alarm
                self._raised[alarm_id] = ev = AlarmEvent(alarm_id=alarm_id, entity_id=a.record.root, tick=t,
                                                         text=text, probable_cause=cause)
                self._notices.append(ev)

    def _start_and_end_faults(self, t: int) -> None:
        for a in list(self._active):
            if a.record.natural_end == t:
                self._end(a, t, "natural")
            elif a.episode.over(t):
                self._end(a, a.episode.end_tick, "action")
        self._changes = [c for c in self._changes if c.until is None or c.until > t]
        for p in [*self.plan, *self._pending]:
            if p.at == t:
                self._start(p, t)
        self._pending = [p for p in self._pending if p.at > t]

    def _end(self, a: _Active, t: int, how: str) -> None:
        a.record.end, a.record.ended_by = t, how
        self._active.remove(a)
        ev = self._raised.pop(f"AL-{a.record.fault_id}", None)
        if ev is not None:
            self._notices.append(ev.model_copy(update={"tick": t, "cleared": True}))

    def _start(self, p: PlannedFault, t: int) -> None:
        ftype = FAULT_TYPES[p.type]
        root_kind, root_index = self.topology.index(p.target)
        behind = (np.zeros(0, dtype=int) if root_kind is EntityKind.CELL
                  else self.topology.cells_behind(root_kind, root_index))
        episode = Episode.draw(ftype, start=t, severity=p.severity, root_kind=root_kind, root=root_index,
                               behind=behind, siblings=self.topology.siblings(root_kind, root_index),
                               realism=self.scenario.realism, rng=self._episode_rng(p))
        rec = FaultRecord(fault_id=f"F{len(self.truth) + 1:03d}", type=p.type, root=p.target,
                          start=t, severity=p.severity,
                          natural_end=None if p.duration is None else t + p.duration,
                          onset=episode.onset, recurs=p.recurs, fixable=ftype.fixable)
        self.truth.append(rec)
        self._active.append(_Active(rec, episode, ftype.alarm_of(root_kind)))

    def _episode_rng(self, p: PlannedFault) -> np.random.Generator:
        what = zlib.crc32(f"{p.type}/{p.target}/{p.at}/{p.recurs}".encode())
        return np.random.default_rng([self.scenario.seed, 1, what])
