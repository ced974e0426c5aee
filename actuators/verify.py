"""Verification: watch KPIs after acting; resolve, or roll back and try the next candidate, or escalate.

The verifier judges incidents; what it decides besides status changes — the
decision records of resolutions, rollbacks and escalations, and the rollback
requests for the act stage — waits in :meth:`Verifier.drain`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from actuators.aftercare import Aftercare
from actuators.decide import action_id
from actuators.effects import ToolEffect
from actuators.forecast import DARK, LOAD_KPIS
from actuators.history import TelemetryHistory
from actuators.inventory import EQUIPMENT
from actuators.relapse import RELAPSE_TICKS, STILL, showing, symptoms_of
from schemas import (
    ActionRequest,
    ActionResult,
    AlarmEvent,
    AnomalyEvent,
    DecisionKind,
    DecisionRecord,
    Incident,
)
from schemas.events import IncidentStatus, Record, ToolCall, TwinPrediction

STAGE = "verify"
_CLOSES = {DecisionKind.ESCALATE, DecisionKind.DENY, DecisionKind.BLOCK}


@dataclass
class _Watch:
    incident: Incident
    entities: set[str]
    last_anomaly: int
    acted_tick: int | None = None
    action: str = ""
    action_id: str | None = None
    tool: str = ""
    compensation: list[ToolCall] = field(default_factory=list)
    twin: TwinPrediction | None = None


class Verifier:
    """Decides, tick by tick, whether incidents recovered.

    An incident whose entities show no persistent anomaly (see :meth:`observe`)
    for ``recovery_ticks`` is resolved. One that was acted on and has not recovered ``verify_ticks``
    after the action (or, when the effect model says the tool takes longer, by the time its fix
    should have settled and stayed quiet) has the action rolled back (if its workflow is
    reversible) and moves on to its next root-cause candidate, up to
    ``max_attempts``; then it is escalated to a human. A twin veto moves on
    to the next candidate too; a denial or a guard's refusal escalates; so does an equipment
    (hardware) alarm on an incident's root or entities, at once: no tool fixes hardware.

    Records delivered again (after a worker restart) change nothing: an incident closed
    in the log is not watched again, an older version does not replace a newer one, and
    a result counts only for the current attempt's action, once.

    Fed the telemetry (:meth:`observe_frame`), it also reads the KPIs themselves
    (:mod:`actuators.relapse`): an incident whose fault the telemetry still shows is not resolved
    because the detectors went quiet, and a root fixed by an action is watched for
    ``relapse_ticks`` for its symptoms coming back, which opens a new incident
    (:mod:`actuators.aftercare`; a workaround is reverted once the root has stayed healthy).
    """

    def __init__(self, *, recovery_ticks: int = 4, verify_ticks: int = 12, max_attempts: int = 2,
                 effects: dict[str, ToolEffect] | None = None, relapse_ticks: int = RELAPSE_TICKS) -> None:
        self.recovery_ticks, self.verify_ticks = recovery_ticks, verify_ticks
        self.max_attempts, self.relapse_ticks = max_attempts, relapse_ticks
        self.effects = effects or {}
        self.telemetry: TelemetryHistory | None = None  # created by the first frame
        self.aftercare = Aftercare(relapse_ticks=relapse_ticks)
        self._watch: dict[str, _Watch] = {}
        self._out: list[Record] = []
        self._closed: set[str] = set()  # closed before a restart, as the log says
        self._seen: dict[tuple[str, str], int] = {}  # (entity, KPI) -> last tick it was anomalous

    def track(self, incident: Incident) -> None:
        """Start (or keep) watching an open incident."""
        if incident.status is not IncidentStatus.OPEN or incident.incident_id in self._closed:
            return
        w = self._watch.get(incident.incident_id)
        entities = _entities(incident)
        if w is None:
            for other in self._watch.values():  # a fault of its own there: the others stop watching it
                mine = other.incident.candidates[other.incident.attempt].entity_id
                other.entities -= entities - {mine}
            self._watch[incident.incident_id] = _Watch(incident, entities, incident.tick)
        elif incident.attempt > w.incident.attempt or (
                incident.attempt == w.incident.attempt and w.incident.status is IncidentStatus.OPEN):
            w.incident, w.entities = incident, w.entities | entities

    def restore(self, incidents: Iterable[Incident], last_anomaly: Mapping[str, int]) -> None:
        """Take back incidents after a restart: the latest version of each, read from the log.

        ``last_anomaly`` is the last tick each entity was anomalous before the restart. A
        mitigating incident keeps the tick and the action its record names, so it is judged
        (resolved, retried or escalated) as it would have been without the restart. What a
        workflow would undo (its compensation steps) is not in the log: a restored action
        is not rolled back.
        """
        for inc in incidents:
            if inc.status in (IncidentStatus.RESOLVED, IncidentStatus.ESCALATED):
                self._closed.add(inc.incident_id)
                continue
            entities = _entities(inc)
            last = max([inc.opened_tick, *(last_anomaly.get(e, -1) for e in entities)])
            w = self._watch[inc.incident_id] = _Watch(inc, entities, last)
            if inc.status is IncidentStatus.MITIGATING:
                w.acted_tick, w.action, w.action_id = inc.tick, inc.reason, action_id(inc)

    def observe(self, event: AnomalyEvent) -> None:
        """An anomaly keeps its incident from recovering when it persists: the same KPI of the
        same entity anomalous in consecutive ticks. One-tick noise (a few in 10,000 healthy KPI
        values) would otherwise rarely leave an NF with dozens of cells behind it quiet enough.
        After an action, demand KPIs (users, throughput, utilisation) count only when the entity
        has gone dark: a baseline that followed a fault's extra demand up flags the demand's return
        as a drop."""
        key = (event.entity_id, event.kpi)
        before, self._seen[key] = self._seen.get(key), event.tick
        if before != event.tick - 1:
            return
        demand = event.kpi in LOAD_KPIS and event.value > DARK * event.expected
        for w in self._watch.values():
            if event.entity_id in w.entities and not (demand and w.acted_tick is not None):
                w.last_anomaly = max(w.last_anomaly, event.tick)

    def observe_frame(self, raw: bytes) -> None:
        """A telemetry frame: the KPIs themselves, read when the anomalies alone would mislead."""
        if self.telemetry is None:
            self.telemetry = TelemetryHistory(ticks=8)
        self.telemetry.add(raw)

    def acted(self, result: ActionResult) -> Incident | None:
        """Note an executed workflow; the incident is now mitigating (or escalated if it failed)."""
        w = self._watch.get(result.incident_id)
        if w is None or result.action_id != action_id(w.incident) or w.acted_tick is not None:
            return None  # a rollback's result, one of an earlier attempt, or this one's again
        if not result.ok:
            undone = " (its changes were rolled back)" if result.rolled_back else ""
            return self._close(w, IncidentStatus.ESCALATED, result.tick,
                               f"{result.tool} on {result.target} failed{undone}: {result.detail}")
        w.acted_tick, w.action = result.tick, f"{result.tool} on {result.target}"
        w.action_id, w.compensation, w.tool = result.action_id, list(result.compensation), result.tool
        w.incident = w.incident.model_copy(update={"status": IncidentStatus.MITIGATING,
                                                   "tick": result.tick, "reason": w.action})
        return w.incident

    def decided(self, record: DecisionRecord) -> Incident | None:
        """Decisions upstream: an escalation, denial or guard refusal closes the incident as
        escalated; a twin veto moves on to the next candidate; an act decision's twin
        prediction is kept to compare with the outcome."""
        w = self._watch.get(record.incident_id)
        if w is None:
            return None
        if record.decision is DecisionKind.ACT:
            w.twin = record.twin
            return None
        if record.decision is DecisionKind.VETO:
            return self._next(w, record.tick, f"the twin vetoed {record.tool} on {record.target}")
        if record.decision in _CLOSES:
            return self._close(w, IncidentStatus.ESCALATED, record.tick, record.explanation, quiet=True)
        return None

    def alarm(self, event: AlarmEvent) -> list[Incident]:
        """An equipment alarm on a watched incident's root or entities escalates it now."""
        if event.cleared or event.probable_cause != EQUIPMENT:
            return []
        hit = [w for w in self._watch.values() if event.entity_id in w.entities
               or event.entity_id == w.incident.candidates[w.incident.attempt].entity_id]
        return [self._close(w, IncidentStatus.ESCALATED, event.tick,
                            f"equipment alarm {event.text!r} on {event.entity_id}: no tool fixes failed "
                            f"hardware; needs a person (field service)") for w in hit]

    def on_tick(self, tick: int) -> list[Incident]:
        """Status changes at the end of ``tick``: resolved, retried or escalated incidents."""
        self._seen = {k: t for k, t in self._seen.items() if t >= tick - 1}
        changes = []
        for w in list(self._watch.values()):
            change = self._judge(w, tick)
            if change is not None:
                changes.append(change)
        return changes + self._relapses(tick)

    def _relapses(self, tick: int) -> list[Incident]:
        """New incidents for fixed roots whose symptoms are back (unless an incident has it in hand);
        reverts of workarounds no longer needed wait in :meth:`drain`."""
        busy = {w.incident.candidates[w.incident.attempt].entity_id for w in self._watch.values()}
        opened, records = self.aftercare.step(tick, self.telemetry, busy)
        self._out += records
        for again in opened:
            self.track(again)
        return opened

    def _still_showing(self, w: _Watch, tick: int) -> bool:
        """Does the telemetry still show the incident's fault, however quiet the detectors are?"""
        return self.telemetry is not None and showing(symptoms_of(w.incident), self.telemetry, tick,
                                                      need=STILL[0], of_last=STILL[1])

    def drain(self) -> list[Record]:
        """Decision records and rollback requests decided since the last call."""
        out, self._out = self._out, []
        return out

    def _judge(self, w: _Watch, tick: int) -> Incident | None:
        if tick - w.last_anomaly >= self.recovery_ticks and not self._still_showing(w, tick):
            how = f"after {w.action} (applied at tick {w.acted_tick})" if w.action else "without action"
            return self._close(w, IncidentStatus.RESOLVED, tick,
                               f"KPIs of {len(w.entities)} entities back to baseline for "
                               f"{self.recovery_ticks} ticks {how}; resolved at tick {tick}")
        if w.acted_tick is None or tick - w.acted_tick < self._window(w.tool):
            return None
        self._rollback(w, tick)
        return self._next(w, tick, f"no recovery {self._window(w.tool)} ticks after {w.action}")

    def _window(self, tool: str) -> int:
        """Ticks after an action before it counts as not having helped."""
        effect = self.effects.get(tool)
        settle = effect.settles_within + self.recovery_ticks + 2 if effect else 0
        return max(self.verify_ticks, settle)

    def _rollback(self, w: _Watch, tick: int) -> None:
        inc, what = w.incident, w.action
        came_true = None if w.twin is None else not w.twin.improves
        if not w.compensation:
            return
        self._out.append(ActionRequest(
            action_id=f"{w.action_id}#rollback", incident_id=inc.incident_id, tick=tick,
            tool=w.compensation[-1].tool, target=w.compensation[-1].target,
            arguments=w.compensation[-1].arguments, rollback=w.compensation))
        self._record(w, DecisionKind.ROLLBACK, tick,
                     f"no recovery {self._window(w.tool)} ticks after {what}: "
                     f"rolling it back with {', '.join(c.tool for c in w.compensation)}",
                     outcome="not recovered; rolled back", came_true=came_true)
        w.compensation = []

    def _next(self, w: _Watch, tick: int, why: str) -> Incident:
        inc = w.incident
        nxt = inc.attempt + 1
        if nxt < min(len(inc.candidates), self.max_attempts):
            reason = f"{why}; trying candidate {nxt + 1}: {inc.candidates[nxt].entity_id}"
            w.acted_tick, w.action, w.action_id, w.twin, w.tool = None, "", None, None, ""
            w.incident = inc.model_copy(update={"status": IncidentStatus.OPEN, "attempt": nxt,
                                                "tick": tick, "reason": reason})
            return w.incident
        return self._close(w, IncidentStatus.ESCALATED, tick, f"{why}; needs a human")

    def _close(self, w: _Watch, status: IncidentStatus, tick: int, reason: str, *,
               quiet: bool = False) -> Incident:
        del self._watch[w.incident.incident_id]
        closed = w.incident.model_copy(update={"status": status, "tick": tick, "reason": reason})
        if status is IncidentStatus.RESOLVED and w.acted_tick is not None and w.action_id:
            effect = self.effects.get(w.tool)
            self.aftercare.start(closed, tick=tick, action_id=w.action_id, compensation=w.compensation,
                                 revert_after=effect.revert_after_ticks if effect else None)
        if not quiet:  # an upstream decision that closes the incident already has its record
            resolved = status is IncidentStatus.RESOLVED
            came_true = None if w.twin is None or not w.action else w.twin.improves == resolved
            self._record(w, DecisionKind.RESOLVE if resolved else DecisionKind.ESCALATE, tick, reason,
                         outcome="recovered" if resolved else "escalated", came_true=came_true)
        return closed

    def _record(self, w: _Watch, kind: DecisionKind, tick: int, why: str, *, outcome: str,
                came_true: bool | None) -> None:
        inc = w.incident
        cand = inc.candidates[inc.attempt]
        self._out.append(DecisionRecord(
            incident_id=inc.incident_id, tick=tick, stage=STAGE, decision=kind, fault_type=cand.fault_type,
            target=cand.entity_id, confidence=inc.confidence, explanation=why, action_id=w.action_id,
            evidence=list(cand.evidence),
            twin=w.twin if w.action else None, twin_came_true=came_true, outcome=outcome))


def _entities(incident: Incident) -> set[str]:
    return set(incident.symptoms) | {c.entity_id for c in incident.candidates[:1]}
