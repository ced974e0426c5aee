"""Verification: watch an incident's KPIs after acting; resolve, try the next candidate, or escalate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from actuators.decide import action_id
from schemas import (
    ActionResult,
    AnomalyEvent,
    DecisionKind,
    DecisionRecord,
    Incident,
    IncidentStatus,
)

STAGE = "verify"


@dataclass
class _Watch:
    incident: Incident
    entities: set[str]
    last_anomaly: int
    acted_tick: int | None = None
    action: str = ""


class Verifier:
    """Decides, tick by tick, whether incidents recovered.

    An incident whose entities show no anomaly for ``recovery_ticks`` is
    resolved. One that was acted on and has not recovered ``verify_ticks``
    after the action moves on to its next root-cause candidate, up to
    ``max_attempts``; then it is escalated to a human.

    Records delivered again (after a worker restart) change nothing: an incident closed
    in the log is not watched again, an older version does not replace a newer one, and
    a result counts only for the current attempt's action, once.
    """

    def __init__(self, *, recovery_ticks: int = 4, verify_ticks: int = 12, max_attempts: int = 2) -> None:
        self.recovery_ticks, self.verify_ticks = recovery_ticks, verify_ticks
        self.max_attempts = max_attempts
        self._watch: dict[str, _Watch] = {}
        self._closed: set[str] = set()  # closed before a restart, as the log says

    def track(self, incident: Incident) -> None:
        """Start (or keep) watching an open incident."""
        if incident.status is not IncidentStatus.OPEN or incident.incident_id in self._closed:
            return
        w = self._watch.get(incident.incident_id)
        entities = _entities(incident)
        if w is None:
            self._watch[incident.incident_id] = _Watch(incident, entities, incident.tick)
        elif incident.attempt > w.incident.attempt or (
                incident.attempt == w.incident.attempt and w.incident.status is IncidentStatus.OPEN):
            w.incident, w.entities = incident, w.entities | entities

    def restore(self, incidents: Iterable[Incident], last_anomaly: Mapping[str, int]) -> None:
        """Take back incidents after a restart: the latest version of each, read from the log.

        ``last_anomaly`` is the last tick each entity was anomalous before the restart. A
        mitigating incident keeps the tick and the action its record names, so it is judged
        (resolved, retried or escalated) as it would have been without the restart.
        """
        for inc in incidents:
            if inc.status in (IncidentStatus.RESOLVED, IncidentStatus.ESCALATED):
                self._closed.add(inc.incident_id)
                continue
            entities = _entities(inc)
            last = max([inc.opened_tick, *(last_anomaly.get(e, -1) for e in entities)])
            w = self._watch[inc.incident_id] = _Watch(inc, entities, last)
            if inc.status is IncidentStatus.MITIGATING:
                w.acted_tick, w.action = inc.tick, inc.reason

    def observe(self, event: AnomalyEvent) -> None:
        for w in self._watch.values():
            if event.entity_id in w.entities:
                w.last_anomaly = max(w.last_anomaly, event.tick)

    def acted(self, result: ActionResult) -> Incident | None:
        """Note an executed action; the incident is now mitigating (or escalated if it failed)."""
        w = self._watch.get(result.incident_id)
        if w is None or result.action_id != action_id(w.incident) or w.acted_tick is not None:
            return None  # closed, an earlier attempt's result, or this one's again
        if not result.ok:
            return self._close(w, IncidentStatus.ESCALATED, result.tick,
                               f"{result.tool} on {result.target} failed: {result.detail}")
        w.acted_tick, w.action = result.tick, f"{result.tool} on {result.target}"
        w.incident = w.incident.model_copy(update={"status": IncidentStatus.MITIGATING,
                                                   "tick": result.tick, "reason": w.action})
        return w.incident

    def decided(self, record: DecisionRecord) -> Incident | None:
        """An escalation decided upstream closes the incident as escalated."""
        w = self._watch.get(record.incident_id)
        if w is None or record.decision is not DecisionKind.ESCALATE:
            return None
        return self._close(w, IncidentStatus.ESCALATED, record.tick, record.explanation)

    def on_tick(self, tick: int) -> list[Incident]:
        """Status changes at the end of ``tick``: resolved, retried or escalated incidents."""
        changes = []
        for w in list(self._watch.values()):
            change = self._judge(w, tick)
            if change is not None:
                changes.append(change)
        return changes

    def _judge(self, w: _Watch, tick: int) -> Incident | None:
        if tick - w.last_anomaly >= self.recovery_ticks:
            how = f"after {w.action}" if w.action else "without action"
            return self._close(w, IncidentStatus.RESOLVED, tick,
                               f"KPIs back to baseline for {self.recovery_ticks} ticks {how}")
        if w.acted_tick is None or tick - w.acted_tick < self.verify_ticks:
            return None
        inc = w.incident
        nxt = inc.attempt + 1
        if nxt < min(len(inc.candidates), self.max_attempts):
            reason = (f"no recovery {self.verify_ticks} ticks after {w.action}; "
                      f"trying candidate {nxt + 1}: {inc.candidates[nxt].entity_id}")
            w.acted_tick, w.action = None, ""
            w.incident = inc.model_copy(update={"status": IncidentStatus.OPEN, "attempt": nxt,
                                                "tick": tick, "reason": reason})
            return w.incident
        return self._close(w, IncidentStatus.ESCALATED, tick,
                           f"no recovery {self.verify_ticks} ticks after {w.action}; needs a human")

    def _close(self, w: _Watch, status: IncidentStatus, tick: int, reason: str) -> Incident:
        del self._watch[w.incident.incident_id]
        return w.incident.model_copy(update={"status": status, "tick": tick, "reason": reason})


def _entities(incident: Incident) -> set[str]:
    return set(incident.symptoms) | {c.entity_id for c in incident.candidates[:1]}
