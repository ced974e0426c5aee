"""The loop's stages as thin adapters: decode → call detectors/actuators → records to send.

Each stage has a stable ``name`` (used in logs, metric labels and consumer
group ids), the ``topics`` it reads, ``handle(topic, value)`` for one record
and ``on_tick(tick)`` for time-driven work. Both return ``(topic, key, record)``
triples; the runtime publishes them. Logic lives in ``detectors/`` and ``actuators/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from actuators import Executor, PolicyTable, Verifier, plan
from detectors import (
    DEFAULT_DETECTOR,
    AnomalyFilter,
    IncidentTracker,
    TopologyGraph,
    default_filter,
    directions_of,
    shipped_calibration,
    shipped_classifier,
)
from schemas import (
    ActionRequest,
    ActionResult,
    AnomalyEvent,
    DecisionKind,
    DecisionRecord,
    EntityKind,
    Incident,
    IncidentStatus,
    Record,
    TopologyEntity,
    kpi_names,
    topics,
)
from streams.bus import Message
from streams.perceive import Batch, decode_telemetry

Out = tuple[str, str | None, Record]


@dataclass(frozen=True)
class DetectorConfig:
    """How detectors are built for a new shard."""

    threshold: float = 6.0
    warmup: int = 60
    relearn_after: int = 240


class DetectStage:
    """Perceive + detect: telemetry frames → anomaly events, one detector per shard."""

    name = "detect"
    topics = (topics.TELEMETRY,)

    def __init__(self, config: DetectorConfig, on_rows: Callable[[int], None] | None = None) -> None:
        self.config = config
        self.on_rows = on_rows
        self._filters: dict[tuple[str, EntityKind], tuple[tuple[str, ...], AnomalyFilter]] = {}

    async def handle(self, msg: Message) -> list[Out]:
        batch = decode_telemetry(msg.value)
        scores, flags = self._filter(batch).step(batch.values)
        if self.on_rows:
            self.on_rows(len(batch.entity_ids))
        return self._events(batch, scores, flags)

    async def on_tick(self, tick: int) -> list[Out]:
        return []

    def _filter(self, batch: Batch) -> AnomalyFilter:
        key = (batch.shard, batch.kind)
        known = self._filters.get(key)
        if known is None or known[0] != batch.entity_ids:
            c = self.config
            f = default_filter(directions_of(batch.kind), threshold=c.threshold, warmup=c.warmup,
                               relearn_after=c.relearn_after)
            known = self._filters[key] = (batch.entity_ids, f)
        return known[1]

    def _events(self, batch: Batch, scores: np.ndarray, flags: np.ndarray) -> list[Out]:
        rows, cols = np.nonzero(flags)
        if not len(rows):
            return []
        names = kpi_names(batch.kind)
        expected = self._filters[(batch.shard, batch.kind)][1].detector.expected()
        out: list[Out] = []
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            e = batch.entity_ids[i]
            out.append((topics.ANOMALIES, e, AnomalyEvent(
                entity_id=e, kpi=names[j], tick=batch.tick, value=float(batch.values[i, j]),
                expected=float(expected[i, j]), score=round(float(scores[i, j]), 3),
                detector=DEFAULT_DETECTOR)))
        return out


class LocalizeStage:
    """Anomalies + topology → incidents with ranked root-cause candidates."""

    name = "localize"
    topics = (topics.TOPOLOGY, topics.ANOMALIES, topics.INCIDENTS)

    def __init__(self) -> None:
        self.graph = TopologyGraph()
        self.tracker = IncidentTracker(graph=self.graph, classifier=shipped_classifier(),
                                       calibration=shipped_calibration())

    async def handle(self, msg: Message) -> list[Out]:
        topic, value = msg.topic, msg.value
        if topic == topics.ANOMALIES:
            self.tracker.observe(AnomalyEvent.decode(value))
        elif topic == topics.TOPOLOGY:
            self.graph.add(TopologyEntity.decode(value))
        else:
            self.tracker.update_status(Incident.decode(value))
        return []

    async def on_tick(self, tick: int) -> list[Out]:
        return [(topics.INCIDENTS, i.incident_id, i) for i in self.tracker.close_tick(tick)]


class DecideStage:
    """Open incidents → a decision record each, and an action when the policy says act."""

    name = "decide"
    topics = (topics.INCIDENTS,)

    def __init__(self, policies: PolicyTable, *, act: bool = True) -> None:
        self.policies, self.act = policies, act
        self._decided: set[tuple[str, int]] = set()

    async def handle(self, msg: Message) -> list[Out]:
        incident = Incident.decode(msg.value)
        key = (incident.incident_id, incident.attempt)
        if incident.status is not IncidentStatus.OPEN or key in self._decided:
            return []
        self._decided.add(key)
        p = plan(incident, self.policies, act=self.act)
        out: list[Out] = [(topics.DECISIONS, incident.incident_id, p.decision)]
        if p.action is not None:
            out.append((topics.ACTIONS, incident.incident_id, p.action))
        return out

    async def on_tick(self, tick: int) -> list[Out]:
        return []


class ActStage:
    """Actions → tool calls through the MCP client → action results."""

    name = "act"
    topics = (topics.ACTIONS,)

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    async def handle(self, msg: Message) -> list[Out]:
        action = ActionRequest.decode(msg.value)
        # an action decided at the end of tick t takes effect in tick t + 1
        result = await self.executor.execute(action, action.tick + 1)
        return [(topics.ACTION_RESULTS, action.incident_id, result)]

    async def on_tick(self, tick: int) -> list[Out]:
        return []


class VerifyStage:
    """Watch KPIs after acting: resolve, retry the next candidate, or escalate."""

    name = "verify"
    topics = (topics.INCIDENTS, topics.ANOMALIES, topics.ACTION_RESULTS, topics.DECISIONS)

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    async def handle(self, msg: Message) -> list[Out]:
        topic, value = msg.topic, msg.value
        v = self.verifier
        if topic == topics.ANOMALIES:
            v.observe(AnomalyEvent.decode(value))
            return []
        if topic == topics.INCIDENTS:
            v.track(Incident.decode(value))
            return []
        if topic == topics.ACTION_RESULTS:
            return _changed(v.acted(ActionResult.decode(value)))
        escalated = v.decided(DecisionRecord.decode(value))  # decide already wrote its record
        return [] if escalated is None else [(topics.INCIDENTS, escalated.incident_id, escalated)]

    async def on_tick(self, tick: int) -> list[Out]:
        out: list[Out] = []
        for inc in self.verifier.on_tick(tick):
            out += _changed(inc)
        return out


def _changed(incident: Incident | None) -> list[Out]:
    if incident is None:
        return []
    out: list[Out] = [(topics.INCIDENTS, incident.incident_id, incident)]
    kind = {IncidentStatus.RESOLVED: DecisionKind.RESOLVE,
            IncidentStatus.ESCALATED: DecisionKind.ESCALATE}.get(incident.status)
    if kind is not None:
        cand = incident.candidates[incident.attempt]
        out.append((topics.DECISIONS, incident.incident_id, DecisionRecord(
            incident_id=incident.incident_id, tick=incident.tick, stage=VerifyStage.name,
            decision=kind, fault_type=cand.fault_type, target=cand.entity_id,
            explanation=incident.reason)))
    return out
