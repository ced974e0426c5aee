"""The loop as faust agents over Kafka: the same stage objects as the embedded runtime.

One agent per stage reads the stage's topics as raw bytes, hands each record
to the stage (bad records become dead letters with topic, partition and
offset), and sends what the stage returns. Tick closing travels as
:class:`~schemas.TickMark` watermarks: detect forwards the mark of each
telemetry partition into ``netloop.anomalies``; localize and verify close a
tick once they hold the marks of every telemetry partition.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from actuators import Executor
from schemas import TickMark, topics
from streams.bus import Message
from streams.embedded import detector_warmup, load_policies, loop_stages
from streams.metrics import LoopMetrics
from streams.pipeline import Out, Stage, handle_safely
from streams.settings import Settings

MARK = b'"tick_closed"'


@dataclass
class KafkaHooks:
    """What an in-process runner (``netloop run --broker``, tests) wants to observe."""

    extra: list[Stage] = field(default_factory=list)
    on_rows: Callable[[int], None] | None = None
    on_tick_closed: Callable[[str, int], None] | None = None  # (stage name, tick)


class _TickClock:
    """Counts marks per tick; a tick closes when every telemetry partition has marked it."""

    def __init__(self) -> None:
        self._seen: dict[int, set[int]] = defaultdict(set)
        self._closed = -1

    def mark(self, mark: TickMark) -> list[int]:
        if mark.tick_closed <= self._closed:
            return []  # a re-delivered mark of a tick already closed
        self._seen[mark.tick_closed].add(mark.source_partition or 0)
        ready = [t for t, parts in self._seen.items() if len(parts) >= mark.partitions]
        closed = []
        for t in sorted(ready):
            if t > self._closed:
                closed.append(t)
                self._closed = t
        for t in [t for t in self._seen if t <= self._closed]:
            del self._seen[t]
        return closed


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
               warmup_ticks: int = 300, only: frozenset[str] | None = None) -> faust.App:
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
    stages = loop_stages(settings, load_policies(settings), warmup=detector_warmup(warmup_ticks),
                         act=executor is not None, executor=executor, on_rows=hooks.on_rows,
                         extra=hooks.extra)
    for stage in stages:
        if only is None or stage.name in only:
            _add_agent(app, stage, out, metrics, hooks)
    return app


def _raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw")


def _add_agent(app: faust.App, stage: Stage, out: dict[str, faust.TopicT], metrics: LoopMetrics,
               hooks: KafkaHooks) -> None:
    clock = _TickClock()
    channel = _raw_topic(app, *stage.topics)

    async def send(outs: list[Out]) -> None:
        for topic, key, record in outs:
            await out[topic].send(key=key.encode() if key is not None else None,
                                  value=record.encode())

    async def agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            m = event.message
            msg = Message(m.topic, m.key.decode("utf-8", "replace") if m.key else None,
                          m.value or b"", m.offset, m.partition)
            metrics.records_in.labels(stage.name).inc()
            if MARK in msg.value[:64] and msg.topic in (topics.TELEMETRY, topics.ANOMALIES):
                await send(await _on_mark(stage, msg, clock, hooks))
                continue
            await send(await handle_safely(stage, msg, metrics, partition=m.partition))

    app.agent(channel, name=f"netloop.{stage.name}")(agent)


async def _on_mark(stage: Stage, msg: Message, clock: _TickClock, hooks: KafkaHooks) -> list[Out]:
    mark = TickMark.decode(msg.value)
    if msg.topic == topics.TELEMETRY:
        if topics.TELEMETRY not in stage.topics or stage.name != "detect":
            return []
        fwd = TickMark(tick_closed=mark.tick_closed, source_partition=msg.partition,
                       partitions=mark.partitions)
        return [(topics.ANOMALIES, None, fwd)]
    outs: list[Out] = []
    for tick in clock.mark(mark):
        outs += await stage.on_tick(tick)
        if hooks.on_tick_closed is not None:
            hooks.on_tick_closed(stage.name, tick)
    return outs

