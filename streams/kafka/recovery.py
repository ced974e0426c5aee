"""A worker's start-up: rebuild what its stages held in memory from the log, then consume.

A worker killed mid-run and started again in the same consumer group resumes at the group's
committed offsets. Before its agents handle a record, the state of its stages is read back
from Kafka, in two ways:

- **Tables** (keyed; the latest value of a key wins): ``netloop.topology``,
  ``netloop.maintenance`` and ``netloop.incidents``, read from the beginning to the end offsets
  captured at start. The latest version of each incident goes to the stages' ``restore``: open and mitigating
  incidents go on under the same id, so decide plans the same action ids, which the tool
  server executes once. The incidents also give the *watermark*: the last tick judged in the
  log (an incident opened, retried, resolved or escalated at it). Localize and verify do not
  close those ticks again.
- **Streams**: each partition of ``netloop.telemetry``, ``netloop.anomalies`` and ``netloop.alarms``
  is replayed from the beginning up to the group's committed offset into the stages' ``replay``, which
  learns (detector baselines, anomaly evidence) and produces nothing. The agents then go on
  from the committed offset, with the state they had when it was committed.

The replay costs a read of the retained telemetry at each start (see the README's known limits).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import Incident, IncidentStatus, topics
from streams.kafka.marks import is_mark
from streams.kafka.topics import partitions_of
from streams.recording.kafka import bootstrap_servers
from streams.runtime.bus import Message
from streams.settings import Settings

log = logging.getLogger("netloop.recovery")

TABLES = (topics.TOPOLOGY, topics.MAINTENANCE, topics.INCIDENTS)
STREAMS = (topics.TELEMETRY, topics.ANOMALIES, topics.ALARMS)
_STATUS_ORDER = {IncidentStatus.OPEN: 0, IncidentStatus.MITIGATING: 1, IncidentStatus.RESOLVED: 2,
                 IncidentStatus.ESCALATED: 2}
_JUDGED = (IncidentStatus.OPEN, IncidentStatus.RESOLVED, IncidentStatus.ESCALATED)


@runtime_checkable
class Replays(Protocol):
    """A stage that learns from records it handled before a restart (producing nothing)."""

    def replay(self, msg: Message) -> None: ...


@runtime_checkable
class Restores(Protocol):
    """A stage that takes back the latest version of each incident in the log."""

    def restore(self, incidents: Sequence[Incident]) -> None: ...


@dataclass(frozen=True)
class Recovered:
    """What a start-up read back: incidents restored, records replayed, the watermark tick."""

    incidents: int
    live: int
    replayed: int
    watermark: int
    seconds: float


def latest_versions(log_: Iterable[Incident]) -> list[Incident]:
    """The latest version of each incident, in the order of the log.

    Versions are ordered by attempt, then status (open < mitigating < resolved or escalated),
    not by offset: a record re-sent after an earlier restart must not undo a later one.

    >>> from schemas import Candidate
    >>> c = [Candidate(entity_id="upf-2", score=1.0, fault_type="upf_overload", explained=3)]
    >>> v = [Incident(incident_id="I", status=s, opened_tick=5, tick=t, fault_type="upf_overload",
    ...               confidence=0.9, candidates=c, symptoms=["upf-2"])
    ...      for s, t in [("open", 5), ("mitigating", 6), ("open", 5)]]
    >>> [i.status.value for i in latest_versions(v)]
    ['mitigating']
    """
    latest: dict[str, Incident] = {}
    for inc in log_:
        known = latest.get(inc.incident_id)
        if known is None or _version(inc) >= _version(known):
            latest[inc.incident_id] = inc
    return list(latest.values())


def watermark(incidents: Iterable[Incident]) -> int:
    """The last tick at which the log shows a judgment (open, retry, resolve, escalate); -1 if none.

    Mitigating versions carry the network's tick of the action, which can run ahead of the
    loop, so they do not count.
    """
    return max((i.tick for i in incidents if i.status in _JUDGED), default=-1)


def _version(inc: Incident) -> tuple[int, int]:
    return inc.attempt, _STATUS_ORDER[inc.status]


async def recover(settings: Settings, group_id: str, stages: Sequence[object]) -> Recovered:
    """Rebuild the state of ``stages`` from the log; ``group_id`` is the worker's consumer group."""
    t0 = time.perf_counter()
    replaying = [s for s in stages if isinstance(s, Replays)]
    restoring = [s for s in stages if isinstance(s, Restores)]
    if not replaying and not restoring:
        return Recovered(incidents=0, live=0, replayed=0, watermark=-1, seconds=0.0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers(settings.broker), group_id=group_id,
                                enable_auto_commit=False, fetch_max_wait_ms=settings.fetch_max_wait_ms)
    await consumer.start()
    try:
        history: list[Incident] = []
        if restoring:
            await _read(consumer, await _ends(consumer, settings, [topics.INCIDENTS]),
                        lambda m: _keep_incident(history, m))
        readers = {t: [s for s in replaying if t in getattr(s, "topics", ())]
                   for t in (topics.TOPOLOGY, topics.MAINTENANCE, *STREAMS)}
        tables = await _ends(consumer, settings,
                             [t for t in (topics.TOPOLOGY, topics.MAINTENANCE) if readers[t]])
        streams = await _committed(consumer, settings, [t for t in STREAMS if readers[t]])
        replayed = await _read(consumer, {**tables, **streams}, lambda m: _replay(readers[m.topic], m))
    finally:
        await consumer.stop()
    latest = latest_versions(history)
    for stage in restoring:
        stage.restore(latest)
    live = sum(i.status in (IncidentStatus.OPEN, IncidentStatus.MITIGATING) for i in latest)
    done = Recovered(incidents=len(latest), live=live, replayed=replayed, watermark=watermark(latest),
                     seconds=time.perf_counter() - t0)
    log.warning("recovered %d incidents (%d open or mitigating), replayed %d records, ticks up to %d "
             "judged, in %.2f s", done.incidents, done.live, done.replayed, done.watermark, done.seconds)
    return done


def _keep_incident(history: list[Incident], msg: Message) -> None:
    try:
        history.append(Incident.decode(msg.value))
    except ValueError as exc:  # pydantic's ValidationError is one: not an incident, nothing to restore
        log.warning("%s offset %d is not an incident: %s", msg.topic, msg.offset, exc)


def _replay(stages: list[Replays], msg: Message) -> None:
    if is_mark(msg):  # marks are time, not state
        return
    for stage in stages:
        try:
            stage.replay(msg)
        except Exception as exc:  # noqa: BLE001 - it went to the dead letters when first handled
            log.debug("%s skips %s offset %d on replay: %r", type(stage).__name__, msg.topic,
                      msg.offset, exc)


def _partitions(settings: Settings, names: Iterable[str]) -> list[TopicPartition]:
    return [TopicPartition(t, p) for t in names for p in range(partitions_of(t, settings))]


async def _ends(consumer: AIOKafkaConsumer, settings: Settings,
                names: Iterable[str]) -> dict[TopicPartition, int]:
    tps = _partitions(settings, names)
    return dict(await consumer.end_offsets(tps)) if tps else {}


async def _committed(consumer: AIOKafkaConsumer, settings: Settings,
                     names: Iterable[str]) -> dict[TopicPartition, int]:
    """The group's committed offset of each partition (none yet: nothing to replay)."""
    out = {}
    for tp in _partitions(settings, names):
        offset = await consumer.committed(tp)
        if offset:
            out[tp] = offset
    return out


async def _read(consumer: AIOKafkaConsumer, stops: Mapping[TopicPartition, int],
                sink: Callable[[Message], None]) -> int:
    """Hand ``sink`` every record of each partition from its beginning up to (not including) its stop."""
    todo = {tp: stop for tp, stop in stops.items() if stop > 0}
    if not todo:
        return 0
    consumer.assign(list(todo))
    await consumer.seek_to_beginning(*todo)
    n = 0
    while todo:
        for tp, msgs in (await consumer.getmany(*todo, timeout_ms=200)).items():
            for m in msgs:
                if m.offset < todo[tp]:
                    sink(Message(m.topic, m.key.decode("utf-8", "replace") if m.key else None,
                                 m.value or b"", m.offset, m.partition))
                    n += 1
        for tp in [tp for tp, stop in todo.items() if await consumer.position(tp) >= stop]:
            del todo[tp]
    return n
