"""Records produced by the loop's stages: anomalies, incidents, actions, decisions, dead letters."""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from schemas import topics
from schemas.base import MAX_TICK, Record

ToolArgument = str | int | float | bool


class AnomalyEvent(Record):
    """One KPI of one entity judged anomalous at one tick. Higher score = more anomalous."""

    topic = topics.ANOMALIES

    entity_id: str
    kpi: str
    tick: int = Field(ge=0, le=MAX_TICK)
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


class Evidence(Record):
    """One anomalous KPI behind a root-cause candidate or a decision: its value against the baseline,
    and the tick its anomaly began (the onset of its current run)."""

    entity_id: str
    kpi: str
    tick: int = Field(ge=0, le=MAX_TICK)
    value: float
    expected: float = Field(description="the detector's baseline")
    score: float


class Candidate(Record):
    """A root-cause candidate: an entity, its score and the fault type it suggests."""

    entity_id: str
    score: float = Field(ge=0)
    fault_type: str | None = None
    explained: int = Field(ge=0, description="anomalous entities this candidate explains")
    evidence: list[Evidence] = Field(default_factory=list,
                                     description="the KPIs that ranked it, from its incident's window only")


class Incident(Record):
    """An incident: grouped symptoms, ranked root-cause candidates, a status."""

    topic = topics.INCIDENTS

    incident_id: str
    status: IncidentStatus
    opened_tick: int = Field(ge=0, le=MAX_TICK)
    tick: int = Field(ge=0, le=MAX_TICK, description="tick of this update")
    fault_type: str | None
    confidence: float = Field(ge=0, le=1)
    candidates: list[Candidate] = Field(min_length=1)
    symptoms: list[str] = Field(description="entity ids with anomalies grouped into the incident")
    attempt: int = Field(default=0, ge=0, description="index of the candidate being remediated")
    reason: str = ""

    @model_validator(mode="after")
    def _attempt_names_a_candidate(self) -> Self:
        if self.attempt >= len(self.candidates):
            raise ValueError(f"attempt: {self.attempt} names no candidate (there are {len(self.candidates)})")
        return self


class ToolCall(Record):
    """One tool call, as data: what a rollback replays."""

    tool: str
    target: str
    arguments: dict[str, ToolArgument]


class ActionRequest(Record):
    """A workflow the decide stage wants executed (or a rollback verify wants). Idempotent on ``action_id``.

    ``tool``/``target``/``arguments`` are the workflow's main call. ``workflow``
    names the policy library's template to run (``None``: just the main call);
    ``rollback`` lists the compensating calls of an earlier action instead.
    """

    topic = topics.ACTIONS

    action_id: str = Field(description="incident id + attempt; the idempotency key")
    incident_id: str
    tick: int = Field(ge=0, le=MAX_TICK)
    tool: str
    target: str
    arguments: dict[str, ToolArgument]
    workflow: str | None = None
    rollback: list[ToolCall] = Field(default_factory=list,
                                     description="compensating calls to run (a rollback request)")


class ActionResult(Record):
    """What happened when an action was executed."""

    topic = topics.ACTION_RESULTS

    action_id: str
    incident_id: str
    tick: int = Field(ge=0, le=MAX_TICK)
    tool: str
    target: str
    ok: bool
    detail: str
    run_id: str | None = Field(default=None, description="id of the workflow run")
    trace: list[str] = Field(default_factory=list, description="the run's steps, in order")
    compensation: list[ToolCall] = Field(
        default_factory=list, description="calls that undo the run's changes (empty: not reversible)")
    rolled_back: bool = Field(default=False, description="the run's changes were undone")


class DecisionKind(StrEnum):
    """What a decision record documents."""

    ACT = "act"
    HOLD = "hold"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    APPROVAL = "approval"  # waiting for a human's approval
    DENY = "deny"  # a human (or the unattended default) refused the action
    VETO = "veto"  # the digital twin predicted no improvement
    BLOCK = "block"  # a guard refused the action
    ROLLBACK = "rollback"  # an action that did not help was undone


class GuardVerdict(Record):
    """What one guard said about an action."""

    guard: str
    allowed: bool
    detail: str


class TwinPrediction(Record):
    """What the digital twin predicted an action would do, against doing nothing.

    Badness is summed over the watched entities' KPIs and the horizon's ticks, in
    baseline sigmas in each KPI's bad direction; ``improvement`` = without − with
    (the mean over the twin's samples, ``improvement_low``/``high`` their 10th and
    90th percentiles). ``p_improves`` is the probability that the action improves
    the watched KPIs at all; ``improves`` says it is above one half. ``degraded`` is
    False when nothing the tool restores is off its baseline (nothing to fix).
    """

    horizon_ticks: int = Field(ge=1)
    watched: int = Field(ge=0, description="entities compared")
    badness_without: float
    badness_with: float
    improvement: float
    improves: bool
    p_improves: float | None = Field(default=None, ge=0, le=1)
    p_right: float | None = Field(default=None, ge=0, le=1, description="chance the diagnosis is right")
    improvement_low: float | None = None
    improvement_high: float | None = None
    degraded: bool = True
    settled: bool = Field(default=True, description="False while the load a parameter is sized from still "
                                                    "moves: the twin would rather look again")
    parameters: dict[str, ToolArgument] = Field(default_factory=dict,
                                                description="tool parameters the twin chose")
    basis: str = Field(default="", description="what the prediction was made from, in words")


class DecisionRecord(Record):
    """Audit record: what was decided for an incident, and why, in words."""

    topic = topics.DECISIONS

    incident_id: str
    tick: int = Field(ge=0, le=MAX_TICK)
    stage: str
    decision: DecisionKind
    fault_type: str | None = None
    target: str | None = None
    tool: str | None = None
    confidence: float | None = None
    explanation: str = Field(min_length=1)
    action_id: str | None = None
    workflow: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    alternatives: list[Candidate] = Field(default_factory=list, description="other root-cause candidates")
    plan: list[str] = Field(default_factory=list, description="the workflow's steps, in words")
    twin: TwinPrediction | None = None
    twin_came_true: bool | None = Field(default=None, description="set when the outcome is known")
    guards: list[GuardVerdict] = Field(default_factory=list)
    approval_id: str | None = None
    outcome: str | None = None


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
