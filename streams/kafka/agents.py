"""The loop as faust agents over Kafka: the same stage objects as the embedded runtime.

One agent per stage reads the stage's topics as raw bytes, hands each record
to the stage (bad records become dead letters with topic, partition and
offset), and sends what the stage returns. Tick closing travels as
:class:`~schemas.TickMark` watermarks, checked like any record
(:mod:`streams.kafka.marks`): detect forwards the mark of each telemetry
partition into ``netloop.anomalies``; every other stage (act too) closes a
tick once it holds the marks of every telemetry partition.

Before the agents handle their first record, the worker rebuilds its stages'
state from the log (:mod:`streams.kafka.recovery`), so a restarted worker goes
on with the incidents, baselines and evidence of the one it replaces. Offsets
are committed only after a record's outputs are flushed (faust flushes the
producer before each commit): at least once.

Every ``lag_interval`` seconds a timer publishes each stage's consumer lag
(see :func:`consumer_lag`) to ``netloop_consumer_lag_records``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ConsumerNotStarted
from faust.transport.drivers import aiokafka as faust_aiokafka

from actuators import Executor, TelemetryTwin
from schemas import topics
from streams.kafka.marks import MarkedStage
from streams.kafka.recovery import Recovered, recover
from streams.kafka.topics import partitions_of
from streams.metrics import LagKey, LoopMetrics
from streams.runtime.bus import Message
from streams.runtime.embedded import load_policies, loop_stages
from streams.runtime.pipeline import Out, Stage, handle_safely
from streams.settings import Settings

TP = tuple[str, int]  # (topic, partition)

log = logging.getLogger("netloop.kafka")


@dataclass
class KafkaHooks:
    """What an in-process runner (``netloop run --broker``, tests) wants to observe."""

    extra: list[Stage] = field(default_factory=list)
    on_rows: Callable[[int], None] | None = None
    on_tick_closed: Callable[[str, int], None] | None = None  # (stage name, tick)


class _FetchWaitThread(faust_aiokafka.AIOKafkaConsumerThread):
    """faust 0.15 hard-codes ``fetch_max_wait_ms=1500`` for its worker consumer; a broker that
    holds a fetch for the whole wait (librdkafka's mock cluster does) then adds 1.5 s per hop."""

    fetch_max_wait_ms = 1500

    def _create_worker_consumer(self, transport):  # type: ignore[no-untyped-def]
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms  # read by AIOKafkaConsumer.start()
        return consumer


def fetch_wait_consumer(fetch_max_wait_ms: int) -> type[faust_aiokafka.Consumer]:
    thread = type("FetchWaitThread", (_FetchWaitThread,), {"fetch_max_wait_ms": fetch_max_wait_ms})

    class FetchWaitConsumer(faust_aiokafka.Consumer):
        def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
            return thread(self, loop=self.loop, beacon=self.beacon)

    return FetchWaitConsumer


def create_app(settings: Settings, *, executor: Executor | None = None,
               metrics: LoopMetrics | None = None, hooks: KafkaHooks | None = None,
               only: frozenset[str] | None = None,
               lag_interval: float = 5.0) -> faust.App:
    """A faust app running every stage of the loop as an agent (or the stages named in ``only``).

    Without an ``executor`` there is no act stage (acting needs a tool server).
    """
    hooks = hooks or KafkaHooks()
    metrics = metrics or LoopMetrics()
    app = faust.App(settings.app_id, broker=settings.broker, web_enabled=False,
                    topic_partitions=settings.partitions, topic_allow_declare=False,
                    topic_disable_leader=True, store="memory://", producer_linger_ms=1,
                    stream_wait_empty=False)
    app.transport.Consumer = fetch_wait_consumer(settings.fetch_max_wait_ms)  # this app's transport only
    out = {t: _raw_topic(app, t) for t in topics.ALL_TOPICS}

    def rows(n: int) -> None:
        metrics.entity_reports.inc(n)
        if hooks.on_rows is not None:
            hooks.on_rows(n)

    stages = loop_stages(settings, load_policies(settings), act=executor is not None, executor=executor,
                         on_rows=rows, extra=hooks.extra, twin=TelemetryTwin())
    stages = [s for s in stages if only is None or s.name in only]
    startup = _Startup(settings, app, stages)
    progress: dict[LagKey, int] = {}
    readers: dict[str, list[str]] = defaultdict(list)
    for stage in stages:
        marked = MarkedStage(stage, partitions=partitions_of(topics.TELEMETRY, settings),
                             max_ahead=settings.tick_max_ahead, on_tick_closed=hooks.on_tick_closed)
        _add_agent(app, marked, out, metrics, progress, startup)
        for t in marked.topics:
            readers[t].append(stage.name)
    _add_lag_timer(app, readers, progress, metrics, lag_interval)
    return app


def _raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw")


class _Startup:
    """Recovers the stages' state once, for whichever agent starts first; the others wait for it."""

    def __init__(self, settings: Settings, app: faust.App, stages: list[Stage]) -> None:
        self._settings, self._app, self._stages = settings, app, stages
        self._task: asyncio.Task[Recovered] | None = None

    async def recovered(self) -> Recovered:
        if self._task is None:
            self._task = asyncio.ensure_future(recover(self._settings, self._app.conf.id, self._stages))
        return await asyncio.shield(self._task)


def _add_agent(app: faust.App, stage: MarkedStage, out: dict[str, faust.TopicT], metrics: LoopMetrics,
               progress: dict[LagKey, int], startup: _Startup) -> None:
    channel = _raw_topic(app, *stage.topics)
    records_in, processing = metrics.records_in.labels(stage.name), metrics.processing.labels(stage.name)

    async def send(outs: list[Out]) -> None:
        for topic, key, record in outs:
            await out[topic].send(key=key.encode() if key is not None else None,
                                  value=record.encode())
            metrics.observe_output(stage.name, record)

    async def agent(stream: faust.StreamT) -> None:
        stage.clock.resume_after((await startup.recovered()).watermark)
        async for event in stream.events():
            m = event.message
            msg = Message(m.topic, m.key.decode("utf-8", "replace") if m.key else None,
                          m.value or b"", m.offset, m.partition)
            records_in.inc()
            t0 = time.perf_counter()
            await send(await handle_safely(stage, msg, metrics, partition=m.partition))
            processing.observe(time.perf_counter() - t0)
            progress[(stage.name, m.topic, m.partition)] = m.offset + 1

    app.agent(channel, name=f"netloop.{stage.name}")(agent)


def consumer_lag(assigned: Iterable[TP], readers: Mapping[str, Iterable[str]],
                 highwater: Mapping[TP, int], floor: Mapping[TP, int],
                 progress: Mapping[LagKey, int]) -> dict[LagKey, int]:
    """Records on each assigned partition that each stage reading it has not handled yet.

    A stage's position on a partition is the offset after the last record it
    handled there or, before it has handled one, ``floor``: the group's
    committed offset, never below the log start.

    >>> consumer_lag([("t", 0)], {"t": ["a", "b"]}, {("t", 0): 10}, {("t", 0): 4},
    ...              {("a", "t", 0): 7})
    {('a', 't', 0): 3, ('b', 't', 0): 6}
    """
    lag: dict[LagKey, int] = {}
    for tp in assigned:
        if tp not in highwater:
            continue
        for stage in readers.get(tp[0], ()):
            position = max(progress.get((stage, *tp), 0), floor.get(tp, 0))
            lag[(stage, *tp)] = max(0, highwater[tp] - position)
    return lag


def _add_lag_timer(app: faust.App, readers: Mapping[str, list[str]], progress: dict[LagKey, int],
                   metrics: LoopMetrics, interval: float) -> None:
    async def sample() -> None:
        try:
            assigned = [tp for tp in app.consumer.assignment() if tp.topic in readers]
            high = await app.consumer.highwaters(*assigned) if assigned else {}
            low = await app.consumer.earliest_offsets(*assigned) if assigned else {}
        except (TimeoutError, ConsumerNotStarted, KafkaError) as exc:  # starting, rebalancing
            log.debug("consumer lag not sampled: %r", exc)
            return
        # faust keeps the group's committed offsets (read at assignment, updated on each commit);
        # 0.15 has no public accessor for them
        committed = app.consumer._committed_offset
        floor = {(tp.topic, tp.partition): max(committed.get(tp) or 0, low.get(tp) or 0)
                 for tp in assigned}
        highwater = {(tp.topic, tp.partition): n for tp, n in high.items() if n is not None}
        metrics.set_consumer_lag(consumer_lag(list(floor), readers, highwater, floor, progress))

    app.timer(interval, name="netloop.consumer-lag")(sample)
