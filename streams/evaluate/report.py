"""Scoring a run against the simulator's ground truth: the run report.

Definitions
-----------
- A fault is *detected* when an incident opens while it is active (or within
  ``LATE`` ticks of its end) whose candidates include its root entity.
- *localized top-1 / top-3*: that incident's first / first three candidates
  include the root. *fault type correct*: the fault type the loop decided on (the
  incident's last open version before any action: an untouched incident is typed
  again as its evidence grows) is the fault's.
- *auto-remediated*: the fault ended because of an action, and its incident
  was not escalated.
- A *false incident* matches no fault; a *false action* targets an entity that
  was not the root of an active fault when it was executed. An *action on a
  benign event* is a false action on an entity a traffic surge or maintenance
  covered at the time (the event's target, or an entity at the site it names),
  from its start to ``LATE`` ticks after its end.
- ``faults_unfixable``: faults no tool fixes (hardware failures);
  ``faults_escalated_correctly``: those whose incident was escalated within
  ``ESCALATE_WITHIN`` ticks of its opening.
- ``mttd_ticks``: mean of (incident opened − fault start) over detected faults.
- ``mttr_ticks``: mean fault duration (end − start; still active → run end).
- ``mttr_ticks_without_loop``: mean of what the same faults would have lasted
  with no action: their natural duration, or until the end of the run.
- Safety, from the decision records: approval requests, those granted
  (an act decision naming the approval) and denied (by a human or the
  unattended default); rollbacks; twin vetoes.
- ``twin_predictions``: executed actions whose twin prediction the twin
  checked against the telemetry at the end of its horizon; ``twin_correct``:
  those where it was right about whether the watched KPIs would be better
  (``twin_accuracy`` breaks them down per tool). Without the twin's own checks
  (a Kafka worker), the decision records' outcome comparison is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from actuators import TwinCheck, accuracy
from schemas import DecisionKind, EntityKind, Incident, IncidentStatus
from simulator import FaultRecord, Network, PlannedEvent
from streams.recording.recorder import Recorder

LATE = 3
ESCALATE_WITHIN = 20
ROLLBACK = "#rollback"  # the action id suffix of a rollback request (verify's), not a remediation


class FaultOutcome(BaseModel):
    """One fault and what the loop did about it."""

    model_config = ConfigDict(extra="forbid")

    fault_id: str
    type: str
    root: str
    start: int
    end: int | None
    ended_by: str | None
    incident_id: str | None
    detected_tick: int | None
    top1: bool
    fault_type_correct: bool
    escalated: bool
    escalated_tick: int | None = None
    fixable: bool = True
    onset: str = "step"


class RunReport(BaseModel):
    """The report of one run; field names are a public format (JSON)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str
    seed: int
    ticks: int
    entities: int
    faults_injected: int
    faults_detected: int
    faults_localized_top1: int
    faults_localized_top3: int
    fault_type_correct: int
    faults_auto_remediated: int
    faults_escalated: int
    incidents_opened: int
    false_incidents: int
    actions_executed: int
    false_actions: int
    mttd_ticks: float | None
    mttr_ticks: float | None
    mttr_ticks_without_loop: float | None
    wall_seconds: float
    entity_reports_per_second: float
    dead_letters: int
    approvals_requested: int = 0
    approvals_granted: int = 0
    approvals_denied: int = 0
    rollbacks: int = 0
    twin_vetoes: int = 0
    twin_predictions: int = 0
    twin_correct: int = 0
    decisions_unexplained: int = 0
    benign_events: int = 0
    actions_on_benign: int = 0
    faults_unfixable: int = 0
    faults_escalated_correctly: int = 0
    twin_accuracy: dict[str, dict[str, float]] = {}
    faults: list[FaultOutcome]


@dataclass(frozen=True)
class _Match:
    incident: Incident
    rank: int  # position of the root among the candidates


def build_report(network: Network, recorder: Recorder, *, wall_seconds: float,
                 entity_reports: int, twin_checks: Sequence[TwinCheck] | None = None) -> RunReport:
    """Score a finished run (``twin_checks``: the twin's own checks of its predictions, when it ran here)."""
    ticks = network.tick
    first = {iid: h[0] for iid, h in recorder.incidents.items()}
    outcomes, matched = [], set()
    for f in network.truth:
        m = _match(f, first.values(), ticks)
        if m is not None:
            matched.add(m.incident.incident_id)
        outcomes.append(_outcome(f, m, recorder))
    detected = [o for o in outcomes if o.incident_id]
    durations = [_end(f, ticks) - f.start for f in network.truth]
    natural = [min(f.natural_end or ticks, ticks) - f.start for f in network.truth]
    return RunReport(
        scenario=network.scenario.name, seed=network.scenario.seed, ticks=ticks,
        entities=sum(len(network.topology.ids[k]) for k in network.models),
        faults_injected=len(outcomes), faults_detected=len(detected),
        faults_localized_top1=sum(o.top1 for o in outcomes),
        faults_localized_top3=sum(_rank_ok(f, first.values(), ticks, 3) for f in network.truth),
        fault_type_correct=sum(o.fault_type_correct for o in outcomes),
        faults_auto_remediated=sum(o.ended_by == "action" and not o.escalated for o in outcomes),
        faults_escalated=sum(o.escalated for o in outcomes),
        incidents_opened=len(first), false_incidents=len(set(first) - matched),
        actions_executed=sum(r.ok and not r.action_id.endswith(ROLLBACK) for r in recorder.results),
        false_actions=_false_actions(network, recorder),
        mttd_ticks=_mean([o.detected_tick - o.start for o in detected if o.detected_tick is not None]),
        mttr_ticks=_mean(durations), mttr_ticks_without_loop=_mean(natural),
        wall_seconds=round(wall_seconds, 3),
        entity_reports_per_second=round(entity_reports / wall_seconds, 1) if wall_seconds else 0.0,
        dead_letters=recorder.dead_letter_count, **_safety(recorder), **_twin(recorder, twin_checks),
        **_world(network, outcomes), faults=outcomes)


def _world(network: Network, outcomes: list[FaultOutcome]) -> dict[str, int]:
    """Benign events and what was done on them; unfixable faults and how fast they were escalated."""
    events = [e for e in network.benign.events if e.at < network.tick]
    unfixable = [o for o in outcomes if not o.fixable]
    return dict(
        benign_events=len(events),
        actions_on_benign=sum(_on_benign(network, events, tick, target)
                              for tick, _, target, _ in network.actions),
        faults_unfixable=len(unfixable),
        faults_escalated_correctly=sum(
            o.escalated and o.detected_tick is not None and o.escalated_tick is not None
            and o.escalated_tick - o.detected_tick <= ESCALATE_WITHIN for o in unfixable))


def _on_benign(network: Network, events: list[PlannedEvent], tick: int, target: str) -> bool:
    if any(f.root == target and f.start <= tick <= _end(f, network.tick) for f in network.truth):
        return False
    return any(e.at <= tick <= e.end + LATE and _covers(network, e.target, target) for e in events)


def _covers(network: Network, event_target: str, target: str) -> bool:
    """The event's target is ``target``, or a site ``target`` is at."""
    if event_target == target:
        return True
    topo = network.topology
    kind, index = topo.index(event_target)
    if kind is not EntityKind.SITE:
        return False
    try:
        t_kind, t_index = topo.index(target)
    except KeyError:
        return False
    site = {EntityKind.CELL: lambda i: int(topo.cell_site[i]), EntityKind.LINK: lambda i: i,
            EntityKind.GNB: lambda i: i, EntityKind.SITE: lambda i: i}.get(t_kind)
    return site is not None and site(t_index) == index


def _twin(recorder: Recorder, checks: Sequence[TwinCheck] | None) -> dict[str, object]:
    if checks is None:
        came = [r.twin_came_true for r in recorder.decisions if r.twin_came_true is not None]
        return dict(twin_predictions=len(came), twin_correct=sum(came), twin_accuracy={})
    return dict(twin_predictions=len(checks), twin_correct=sum(c.came_true for c in checks),
                twin_accuracy={t: {k: round(v, 3) for k, v in a.items()}
                               for t, a in accuracy(checks).items()})


def _safety(recorder: Recorder) -> dict[str, int]:
    d = recorder.decisions

    def count(kind: DecisionKind) -> int:
        return sum(r.decision is kind for r in d)

    return dict(
        approvals_requested=count(DecisionKind.APPROVAL),
        approvals_granted=sum(r.decision is DecisionKind.ACT and r.approval_id is not None for r in d),
        approvals_denied=sum(r.decision is DecisionKind.DENY and r.approval_id is not None for r in d),
        rollbacks=count(DecisionKind.ROLLBACK), twin_vetoes=count(DecisionKind.VETO),
        decisions_unexplained=sum(not r.explanation.strip() for r in d))


def _end(f: FaultRecord, ticks: int) -> int:
    return f.end if f.end is not None else ticks


def _active_at(f: FaultRecord, tick: int, ticks: int) -> bool:
    return f.start <= tick <= _end(f, ticks) + LATE


def _match(f: FaultRecord, incidents, ticks: int, within: int | None = None) -> _Match | None:
    best: _Match | None = None
    for inc in incidents:
        if not _active_at(f, inc.opened_tick, ticks):
            continue
        ids = [c.entity_id for c in inc.candidates][:within]
        if f.root in ids:
            m = _Match(inc, ids.index(f.root))
            if best is None or (m.rank, inc.opened_tick) < (best.rank, best.incident.opened_tick):
                best = m
    return best


def _rank_ok(f: FaultRecord, incidents, ticks: int, k: int) -> bool:
    return _match(f, incidents, ticks, within=k) is not None


def _outcome(f: FaultRecord, m: _Match | None, recorder: Recorder) -> FaultOutcome:
    inc = m.incident if m else None
    last = recorder.latest(inc.incident_id) if inc else None
    typed = recorder.typed(inc.incident_id) if inc else None
    escalated = last is not None and last.status is IncidentStatus.ESCALATED
    return FaultOutcome(
        escalated_tick=last.tick if escalated and last else None, fixable=f.fixable, onset=f.onset,
        fault_id=f.fault_id, type=f.type, root=f.root, start=f.start, end=f.end, ended_by=f.ended_by,
        incident_id=inc.incident_id if inc else None, detected_tick=inc.opened_tick if inc else None,
        top1=bool(m) and m.rank == 0,
        fault_type_correct=bool(m) and m.rank == 0 and typed == f.type,
        escalated=escalated)


def _false_actions(network: Network, recorder: Recorder) -> int:
    false = 0
    for tick, _tool, target, _fixed in network.actions:
        if not any(f.root == target and f.start <= tick <= _end(f, network.tick) for f in network.truth):
            false += 1
    return false


def _mean(xs: list[int]) -> float | None:
    return round(sum(xs) / len(xs), 2) if xs else None
