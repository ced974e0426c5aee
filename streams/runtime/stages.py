"""The loop's stages as thin adapters: decode → call detectors/actuators → records to send.

Each stage has a stable ``name`` (used in logs, metric labels and consumer
group ids), the ``topics`` it reads, ``handle(topic, value)`` for one record
and ``on_tick(tick)`` for time-driven work. Both return ``(topic, key, record)``
triples; the runtime publishes them. Logic lives in ``detectors/`` and ``actuators/``.

Stages with state also take it back when a Kafka worker restarts
(:mod:`streams.kafka.recovery`): ``replay(msg)`` learns from an input record handled
before the restart and produces nothing; ``restore(incidents)`` takes the latest
version of each incident in the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from actuators import Decider, TelemetryTwin, Verifier, WorkflowEngine
from detectors import (
    DEFAULT_DETECTOR,
    DEFAULT_LEVEL,
    DEFAULT_MAX_STATE,
    IncidentTracker,
    OnsetFilter,
    TopologyGraph,
    default_filter,
    directions_of,
    shipped_calibration,
    shipped_classifier,
)
from schemas import (
    ActionRequest,
    ActionResult,
    AlarmEvent,
    AnomalyEvent,
    DecisionRecord,
    Incident,
    IncidentStatus,
    MaintenanceWindow,
    Record,
    TopologyEntity,
    topics,
)
from schemas.catalogue import Catalogue, builtin_catalogue
from streams.runtime.bus import Message
from streams.runtime.perceive import Batch, PartlyUsed, decode_telemetry
from streams.runtime.shards import Scored, ShardStates, StateBounds

Out = tuple[str, str | None, Record]


@dataclass(frozen=True)
class DetectorConfig:
    """How detectors are built for a new shard, and how much state the stage keeps."""

    level: float = DEFAULT_LEVEL
    max_state: int = DEFAULT_MAX_STATE
    bounds: StateBounds = field(default_factory=StateBounds)


class DetectStage:
    """Perceive + detect: telemetry frames → anomaly events, one detector set per shard.

    Entity churn never resets a known entity, and the state is bounded
    (:class:`~streams.runtime.shards.ShardStates`); a frame with a bad tick is a dead letter.
    """

    name = "detect"
    topics = (topics.TELEMETRY,)

    def __init__(self, config: DetectorConfig, on_rows: Callable[[int], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, catalogue: Catalogue | None = None) -> None:
        self.config = config
        self.on_rows = on_rows
        self.catalogue = catalogue or builtin_catalogue()
        self.states = ShardStates(self._new_filter, config.bounds, clock)

    async def handle(self, msg: Message) -> list[Out]:
        batch = decode_telemetry(msg.value, self.catalogue)
        scored = self.states.step(batch)
        if self.on_rows:
            self.on_rows(len(scored.rows))
        outs = self._events(batch, scored)
        if scored.refused:
            raise PartlyUsed("capacity", f"{len(scored.refused)} new entities not admitted (first: "
                             f"{scored.refused[0]!r}): the detect stage holds its maximum of "
                             f"{self.config.bounds.max_entities} entities", outs)
        return outs

    async def on_tick(self, tick: int) -> list[Out]:
        return []

    def replay(self, msg: Message) -> None:
        """Learn from a frame scored before a restart: the baselines go on where they were."""
        self.states.step(decode_telemetry(msg.value, self.catalogue))

    def _new_filter(self, kind: str) -> OnsetFilter:
        c = self.config
        return default_filter(directions_of(kind, self.catalogue), level=c.level, max_state=c.max_state)

    def _events(self, batch: Batch, scored: Scored) -> list[Out]:
        hits, cols = np.nonzero(scored.flags)
        if not len(hits):
            return []
        names = self.catalogue.kpi_names(batch.kind)
        out: list[Out] = []
        for i, j in zip(hits.tolist(), cols.tolist(), strict=True):
            row = int(scored.rows[i])
            e = batch.entity_ids[row]
            out.append((topics.ANOMALIES, e, AnomalyEvent(
                entity_id=e, kpi=names[j], tick=batch.tick, value=float(batch.values[row, j]),
                expected=float(scored.expected[i, j]), score=float(scored.scores[i, j]),
                detector=DEFAULT_DETECTOR)))
        return out


class LocalizeStage:
    """Anomalies, alarms and topology → incidents with ranked root-cause candidates. ``unremedied``: the
    fault types no policy fixes, which the classifier names only when it is sure."""

    name = "localize"
    topics = (topics.TOPOLOGY, topics.ANOMALIES, topics.INCIDENTS, topics.ALARMS)

    def __init__(self, *, unremedied: frozenset[str] = frozenset(),
                 catalogue: Catalogue | None = None) -> None:
        self.graph = TopologyGraph(catalogue=catalogue)
        self.tracker = IncidentTracker(graph=self.graph, classifier=shipped_classifier(),
                                       calibration=shipped_calibration(), unremedied=unremedied)

    async def handle(self, msg: Message) -> list[Out]:
        topic, value = msg.topic, msg.value
        if topic == topics.ANOMALIES:
            self.tracker.observe(AnomalyEvent.decode(value))
        elif topic == topics.TOPOLOGY:
            self.graph.add(TopologyEntity.decode(value))
        elif topic == topics.ALARMS:
            self.tracker.alarm(AlarmEvent.decode(value))
        else:
            self.tracker.update_status(Incident.decode(value))
        return []

    async def on_tick(self, tick: int) -> list[Out]:
        return [(topics.INCIDENTS, i.incident_id, i) for i in self.tracker.close_tick(tick)]

    def replay(self, msg: Message) -> None:
        """The topology, the alarms and the anomalies seen before a restart (evidence for the next ticks)."""
        if msg.topic == topics.TOPOLOGY:
            self.graph.add(TopologyEntity.decode(msg.value))
        elif msg.topic == topics.ANOMALIES:
            self.tracker.observe(AnomalyEvent.decode(msg.value))
        elif msg.topic == topics.ALARMS:
            self.tracker.alarm(AlarmEvent.decode(msg.value))

    def restore(self, incidents: Sequence[Incident]) -> None:
        self.tracker.restore(incidents)


class DecideStage:
    """Open incidents → a decision record each, and an action when announcements, policy, guards,
    twin and approval agree. It keeps what the network publishes (topology, calendar, alarms) and,
    when it has a twin, feeds it the telemetry and the detectors' baselines.

    The evidence a decision cites travels with its incident (each candidate's own KPIs, values,
    baselines and onset ticks, from the incident's window); anomalies here only say when each KPI
    was last anomalous (for look-alike checks between incidents) and feed the twin."""

    name = "decide"

    def __init__(self, decider: Decider) -> None:
        self.decider = decider
        self._incidents: list[Incident] = []  # this tick's, decided together when it closes
        twin = decider.twin
        self.twin = twin if isinstance(twin, TelemetryTwin) else None
        self.topics = (topics.INCIDENTS, topics.ANOMALIES, topics.TOPOLOGY, topics.MAINTENANCE, topics.ALARMS,
                       *((topics.TELEMETRY,) if self.twin is not None else ()))

    async def handle(self, msg: Message) -> list[Out]:
        if msg.topic == topics.INCIDENTS:
            incident = Incident.decode(msg.value)
            self.decider.note(incident)
            if incident.status is IncidentStatus.OPEN and incident.attempt == 0:
                if self.twin is not None:
                    self.twin.note_incident(incident)
                self._incidents.append(incident)  # new: decided with the tick's other new ones
                return []
            return _records(self.decider.decide(incident))
        self.replay(msg)
        return []

    async def on_tick(self, tick: int) -> list[Out]:
        """The tick's new incidents, decided together (each sees the others), then the time-driven
        work."""
        if self.twin is not None:
            self.twin.on_tick(tick)
        batch, self._incidents = self._incidents, []
        out = [r for inc in batch for r in self.decider.decide(inc)]
        return _records(out + self.decider.on_tick(tick))

    def replay(self, msg: Message) -> None:
        """What the decisions to come rest on: anomalies, telemetry, topology, calendar, alarms."""
        inventory = self.decider.inventory
        if msg.topic == topics.TELEMETRY:
            if self.twin is not None:
                self.twin.observe_frame(msg.value)
        elif msg.topic == topics.ANOMALIES:
            event = AnomalyEvent.decode(msg.value)
            self.decider.observe(event)
            if self.twin is not None:
                self.twin.observe_anomaly(event)
        elif msg.topic == topics.TOPOLOGY:
            inventory.add(TopologyEntity.decode(msg.value))
        elif msg.topic == topics.MAINTENANCE:
            inventory.announce(MaintenanceWindow.decode(msg.value))
        elif msg.topic == topics.ALARMS:
            inventory.alarm(AlarmEvent.decode(msg.value))

    def restore(self, incidents: Sequence[Incident]) -> None:
        self.decider.restore(incidents)


class ActStage:
    """Actions → workflow runs through the MCP client → action results (when each run ends)."""

    name = "act"
    topics = (topics.ACTIONS,)

    def __init__(self, engine: WorkflowEngine) -> None:
        self.engine = engine

    async def handle(self, msg: Message) -> list[Out]:
        action = ActionRequest.decode(msg.value)
        # an action decided at the end of tick t takes effect in tick t + 1
        return _records(await self.engine.start(action, action.tick + 1))

    async def on_tick(self, tick: int) -> list[Out]:
        return _records(await self.engine.on_tick(tick))


class VerifyStage:
    """Watch KPIs after acting: resolve, roll back and retry the next candidate, or escalate; reopen
    what comes back. It reads the telemetry too: a fault the detectors no longer flag may still show."""

    name = "verify"
    topics = (topics.INCIDENTS, topics.ANOMALIES, topics.ACTION_RESULTS, topics.DECISIONS, topics.ALARMS,
              topics.TELEMETRY)

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self._last_anomaly: dict[str, int] = {}  # filled by replay, read by restore
        self._alarms: list[AlarmEvent] = []  # this tick's, judged when it closes

    def replay(self, msg: Message) -> None:
        """Anomalies seen before a restart: when each entity was last anomalous; the telemetry."""
        if msg.topic == topics.TELEMETRY:
            self.verifier.observe_frame(msg.value)
        if msg.topic != topics.ANOMALIES:
            return
        event = AnomalyEvent.decode(msg.value)
        self._last_anomaly[event.entity_id] = max(event.tick, self._last_anomaly.get(event.entity_id, -1))

    def restore(self, incidents: Sequence[Incident]) -> None:
        self.verifier.restore(incidents, self._last_anomaly)
        self._last_anomaly = {}

    async def handle(self, msg: Message) -> list[Out]:
        topic, value = msg.topic, msg.value
        v = self.verifier
        if topic == topics.TELEMETRY:
            v.observe_frame(value)
            return []
        if topic == topics.ANOMALIES:
            v.observe(AnomalyEvent.decode(value))
            return []
        if topic == topics.INCIDENTS:
            v.track(Incident.decode(value))
            return []
        if topic == topics.ALARMS:  # judged when the tick closes, after the localizer typed again by it
            self._alarms.append(AlarmEvent.decode(value))
            return []
        if topic == topics.ACTION_RESULTS:
            changed = v.acted(ActionResult.decode(value))
        else:
            changed = v.decided(DecisionRecord.decode(value))
        return self._out([changed] if changed else [])

    async def on_tick(self, tick: int) -> list[Out]:
        alarms, self._alarms = self._alarms, []
        closed = [i for a in alarms for i in self.verifier.alarm(a)]
        return self._out(closed + self.verifier.on_tick(tick))

    def _out(self, incidents: list[Incident]) -> list[Out]:
        return _records(self.verifier.drain()) + _records(incidents)


def _records(records: Sequence[Record]) -> list[Out]:
    """Each record on its topic, keyed by its incident."""
    return [(r.topic, getattr(r, "incident_id", None), r) for r in records]
