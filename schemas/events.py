"""Records produced by the loop's stages: anomalies, incidents, actions, decisions, dead letters."""

from __future__ import annotations

import base64
from enum import StrEnum

from pydantic import Field

from schemas import topics
from schemas.base import Record

ToolArgument = str | int | float | bool


class AnomalyEvent(Record):
    """One KPI of one entity judged anomalous at one tick. Higher score = more anomalous."""

    topic = topics.ANOMALIES

    entity_id: str
    kpi: str
    tick: int = Field(ge=0)
    value: float
    expected: float = Field(description="the baseline the detector expected")
    score: float = Field(ge=0, description="signed-to-bad-direction z-score, in baseline sigmas")
    detector: str


class IncidentStatus(StrEnum):
    """Life cycle of an incident."""

    OPEN = "open"
    MITIGATING = "mitigating"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


class Candidate(Record):
    """A root-cause candidate: an entity, its score and the fault type it suggests."""

    entity_id: str
    score: float = Field(ge=0)
    fault_type: str | None = None
    explained: int = Field(ge=0, description="anomalous entities this candidate explains")


class Incident(Record):
    """An incident: grouped symptoms, ranked root-cause candidates, a status."""

    topic = topics.INCIDENTS

    incident_id: str
    status: IncidentStatus
    opened_tick: int = Field(ge=0)
    tick: int = Field(ge=0, description="tick of this update")
    fault_type: str | None
    confidence: float = Field(ge=0, le=1)
    candidates: list[Candidate] = Field(min_length=1)
    symptoms: list[str] = Field(description="entity ids with anomalies grouped into the incident")
    attempt: int = Field(default=0, ge=0, description="index of the candidate being remediated")
    reason: str = ""


class ActionRequest(Record):
    """A tool call the decide stage wants executed. Idempotent on ``action_id``."""

    topic = topics.ACTIONS

    action_id: str = Field(description="incident id + attempt; the idempotency key")
    incident_id: str
    tick: int = Field(ge=0)
    tool: str
    target: str
    arguments: dict[str, ToolArgument]


class ActionResult(Record):
    """What happened when an action was executed."""

    topic = topics.ACTION_RESULTS

    action_id: str
    incident_id: str
    tick: int = Field(ge=0)
    tool: str
    target: str
    ok: bool
    detail: str


class DecisionKind(StrEnum):
    """What a decision record documents."""

    ACT = "act"
    HOLD = "hold"
    RESOLVE = "resolve"
    ESCALATE = "escalate"


class DecisionRecord(Record):
    """Audit record: what was decided for an incident, and why, in words."""

    topic = topics.DECISIONS

    incident_id: str
    tick: int = Field(ge=0)
    stage: str
    decision: DecisionKind
    fault_type: str | None = None
    target: str | None = None
    tool: str | None = None
    confidence: float | None = None
    explanation: str = Field(min_length=1)


class DeadLetter(Record):
    """A record a stage could not process, with the reason and where it came from."""

    topic = topics.DLQ

    source_topic: str
    stage: str
    reason: str
    key: str | None = None
    partition: int | None = None
    offset: int | None = None
    raw_base64: str = Field(description="the record's bytes exactly as received, base64")

    @classmethod
    def of(cls, raw: bytes, **fields: object) -> DeadLetter:
        """A dead letter carrying ``raw`` bytes."""
        return cls(raw_base64=base64.b64encode(raw).decode(), **fields)

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.raw_base64)
