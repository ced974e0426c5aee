"""``netloop bench --kafka``: entity reports per second through one faust worker's detect agent.

The worker starts first; frames are then produced to ``netloop.telemetry``
while it runs, and the clock runs from the first frame the detect agent
scores to the last (decode, detect, emit anomalies), leaving start-up and the
consumer-group join out. The producer (and, by default, the mock broker)
share the process and the cores with the worker, so the figure is a floor.
(Producing a large backlog first does not work on the mock broker: it does
not keep ~90 MB of log.) Beside it, in the same run, a bare faust agent that does
nothing consumes small records: faust's own per-event rate, the ceiling that
per-entity records would hit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import faust
import numpy as np
from aiokafka import AIOKafkaProducer

from schemas import TelemetryFrame, kpi_names, topics
from streams.kafka.agents import KafkaHooks, create_app, fetch_wait_consumer
from streams.recording.kafka import bootstrap_servers
from streams.settings import Settings

BARE_TOPIC = "netloop.bench.bare"


def _frames(n_frames: int, entities: int, shards: int) -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(0)
    kpis = list(kpi_names("cell"))
    out = []
    for i in range(n_frames):
        shard = f"bench-{i % shards:03d}"
        ids = [f"cell-{(i % shards) * 10_000 + e:04d}-1" for e in range(entities)]
        values = (100.0 + rng.standard_normal((entities, len(kpis)))).tolist()
        frame = TelemetryFrame(shard=shard, tick=i // shards, timestamp_s=60.0 * (i // shards),
                               kind="cell", entity_ids=ids, kpis=kpis, values=values)
        out.append((shard, frame.encode()))
    return out


async def _produce(settings: Settings, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(settings.broker), linger_ms=20,
                                max_request_size=16 * 1024 * 1024)
    await producer.start()
    try:
        for key, value in records:
            await producer.send(topic, value, key=key.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _steady_rate(counter: Callable[[], int], total: int, timeout: float) -> float:
    """Items per second from the first item processed to the last (start-up excluded)."""
    deadline = time.perf_counter() + timeout
    first_at = first_count = None
    while counter() < total:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {counter()} of {total} processed in {timeout:.0f}s")
        if first_at is None and counter() > 0:
            first_at, first_count = time.perf_counter(), counter()
        await asyncio.sleep(0.002)
    if first_at is None or first_count is None:
        raise RuntimeError("everything was processed before the first sample; produce more")
    return (counter() - first_count) / (time.perf_counter() - first_at)


async def detect_rate(settings: Settings, *, n_frames: int = 600, entities: int = 500,
                      shards: int = 8, timeout: float = 300) -> float:
    """Entity reports per second through one worker's detect agent, in steady state."""
    frames = _frames(n_frames, entities, shards)
    rows = [0]
    app = create_app(settings.model_copy(update={"app_id": "netloop-bench-detect"}),
                     hooks=KafkaHooks(on_rows=lambda n: rows.__setitem__(0, rows[0] + n)),
                     only=frozenset({"detect"}))
    await app.start()
    try:
        producing = asyncio.create_task(_produce(settings, topics.TELEMETRY, frames))
        rate = await _steady_rate(lambda: rows[0], n_frames * entities, timeout)
        await producing
        return rate
    finally:
        await app.stop()


async def bare_event_rate(settings: Settings, *, events: int = 50_000, timeout: float = 300) -> float:
    """Events per second through a faust agent that does nothing with them, in steady state."""
    seen = [0]
    app = faust.App("netloop-bench-bare", broker=settings.broker, web_enabled=False,
                    topic_allow_declare=False, topic_disable_leader=True, store="memory://")
    app.transport.Consumer = fetch_wait_consumer(settings.fetch_max_wait_ms)
    channel = app.topic(BARE_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw",
                        value_serializer="raw")

    async def bare(stream: faust.StreamT) -> None:
        async for _ in stream:
            seen[0] += 1

    app.agent(channel, name="netloop.bench.bare")(bare)
    await app.start()
    try:
        producing = asyncio.create_task(
            _produce(settings, BARE_TOPIC, [(str(i % 8), b"{}") for i in range(events)]))
        rate = await _steady_rate(lambda: seen[0], events, timeout)
        await producing
        return rate
    finally:
        await app.stop()
