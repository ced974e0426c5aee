"""What a run did, as seen on the bus: incidents, actions, results, decisions, dead letters."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from schemas import (
    ActionRequest,
    ActionResult,
    DeadLetter,
    DecisionRecord,
    Incident,
    IncidentStatus,
    topics,
)
from streams.runtime.bus import Message


@dataclass
class Recorder:
    """Subscribes to the loop's output topics and keeps what it reads, for the report and view."""

    name = "recorder"
    topics = (topics.INCIDENTS, topics.ACTIONS, topics.ACTION_RESULTS, topics.DECISIONS, topics.DLQ)

    incidents: dict[str, list[Incident]] = field(default_factory=dict)
    actions: list[ActionRequest] = field(default_factory=list)
    results: list[ActionResult] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    dead_letters: deque[DeadLetter] = field(default_factory=lambda: deque(maxlen=1000))
    dead_letter_count: int = 0  # all of them; only the last 1000 are kept

    async def handle(self, msg: Message) -> list:
        topic, value = msg.topic, msg.value
        if topic == topics.INCIDENTS:
            inc = Incident.decode(value)
            self.incidents.setdefault(inc.incident_id, []).append(inc)
        elif topic == topics.ACTIONS:
            self.actions.append(ActionRequest.decode(value))
        elif topic == topics.ACTION_RESULTS:
            self.results.append(ActionResult.decode(value))
        elif topic == topics.DECISIONS:
            self.decisions.append(DecisionRecord.decode(value))
        else:
            self.dead_letters.append(DeadLetter.decode(value))
            self.dead_letter_count += 1
        return []

    async def on_tick(self, tick: int) -> list:
        return []

    def first(self, incident_id: str) -> Incident:
        return self.incidents[incident_id][0]

    def latest(self, incident_id: str) -> Incident:
        return self.incidents[incident_id][-1]

    def typed(self, incident_id: str) -> str:
        """The fault type the loop decided on: the incident's last version while it was open, before
        any action (the localizer types an untouched incident again as its evidence grows)."""
        history = self.incidents[incident_id]
        return next((v.fault_type for v in reversed(history)
                     if v.status is IncidentStatus.OPEN and v.attempt == 0), history[0].fault_type)

    def open_count(self) -> int:
        live = (IncidentStatus.OPEN, IncidentStatus.MITIGATING)
        return sum(h[-1].status in live for h in self.incidents.values())
