"""Outside telemetry onto Kafka as the emulator publishes a simulated network's.

The topology goes to ``netloop.topology`` keyed by entity, each tick's frames to
``netloop.telemetry`` keyed by shard, and once a later tick's first frame comes,
a tick mark for the tick before on every telemetry partition (so the workers
close it); dead letters go to ``netloop.dlq``.

``netloop worker`` processes started with the same catalogue (``NETLOOP_CATALOGUE``) run the
loop on it unchanged.

A worker refuses a tick mark more than ``tick_max_ahead`` ticks past the last one
(a forged mark must not close every tick before it), so across a gap in the
recording (a collector down for an hour) the publisher also marks ticks inside the
gap, ``tick_max_ahead`` apart: as few as keep the workers' clocks going. Ticks only
move forward: a frame of a tick older than the newest is published but marks nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas import TickMark, topics
from streams.kafka.topics import partitions_of
from streams.recording.files import Recorded
from streams.recording.kafka import BrokerError, bootstrap_servers
from streams.settings import Settings

__all__ = ["BrokerError", "Sent", "publish_records"]


@dataclass
class Sent:
    """What was published; ``ticks`` counts the ticks marked (a gap's stepping stones too)."""

    records: int = 0
    frames: int = 0
    ticks: int = 0
    dead_letters: int = 0


async def publish_records(broker: str, records: Iterable[Recorded], settings: Settings, *,
                          speed: float | None = None) -> Sent:
    """Publish ``records`` (topology, frames, dead letters) with a tick mark after each tick; ``speed``
    scales the frames' time (None: as fast as the broker takes them)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(broker), linger_ms=5)
    try:
        await producer.start()
    except KafkaError as exc:
        raise BrokerError(f"cannot reach {broker}: {exc}") from None
    parts = partitions_of(topics.TELEMETRY, settings)
    sent, current = Sent(), None
    first_ts, t0 = None, time.perf_counter()
    try:
        for m in records:
            if m.topic == topics.TELEMETRY:
                tick = json.loads(m.value)["tick"]
                if current is not None and tick > current:
                    for t in (current, *_stepping_stones(current, tick, settings.tick_max_ahead)):
                        await _mark(producer, t, parts)
                        sent.ticks += 1
                current = tick if current is None else max(current, tick)
                sent.frames += 1
                if speed is not None:
                    first_ts = m.timestamp_ms if first_ts is None else first_ts
                    await asyncio.sleep(max(0.0, t0 + (m.timestamp_ms - first_ts) / 1000 / speed
                                            - time.perf_counter()))
            elif m.topic == topics.DLQ:
                sent.dead_letters += 1
            await producer.send(m.topic, m.value, key=m.key.encode() if m.key is not None else None)
            sent.records += 1
        if current is not None:
            await _mark(producer, current, parts)
            sent.ticks += 1
        await producer.flush()
    except KafkaError as exc:
        raise BrokerError(f"publishing to {broker}: {exc}") from None
    finally:
        await producer.stop()
    return sent


def _stepping_stones(marked: int, tick: int, max_ahead: int) -> list[int]:
    """The ticks between ``marked`` and ``tick`` to mark so that no mark is more than ``max_ahead`` past
    the one before.

    >>> _stepping_stones(99, 112, 5), _stepping_stones(99, 104, 5), _stepping_stones(99, 105, 5)
    ([104, 109], [], [104])
    """
    return list(range(marked + max_ahead, tick, max_ahead))


async def _mark(producer: AIOKafkaProducer, tick: int, partitions: int) -> None:
    mark = TickMark(tick_closed=tick, partitions=partitions).encode()
    await producer.flush()  # the tick's frames are on their partitions before its mark
    for p in range(partitions):
        await producer.send(topics.TELEMETRY, mark, partition=p)
