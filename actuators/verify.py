"""Verification: watch an incident's KPIs after acting; resolve, try the next candidate, or escalate."""

from __future__ import annotations

from dataclasses import dataclass

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
    """

    def __init__(self, *, recovery_ticks: int = 4, verify_ticks: int = 12, max_attempts: int = 2) -> None:
        self.recovery_ticks, self.verify_ticks = recovery_ticks, verify_ticks
        self.max_attempts = max_attempts
        self._watch: dict[str, _Watch] = {}

    def track(self, incident: Incident) -> None:
        """Start (or keep) watching an open incident."""
        if incident.status is not IncidentStatus.OPEN:
            return
        w = self._watch.get(incident.incident_id)
        entities = set(incident.symptoms) | {c.entity_id for c in incident.candidates[:1]}
        if w is None:
            self._watch[incident.incident_id] = _Watch(incident, entities, incident.tick)
        elif incident.attempt >= w.incident.attempt:
            w.incident, w.entities = incident, w.entities | entities

    def observe(self, event: AnomalyEvent) -> None:
        for w in self._watch.values():
            if event.entity_id in w.entities:
                w.last_anomaly = max(w.last_anomaly, event.tick)

    def acted(self, result: ActionResult) -> Incident | None:
        """Note an executed action; the incident is now mitigating (or escalated if it failed)."""
        w = self._watch.get(result.incident_id)
        if w is None:
            return None
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
