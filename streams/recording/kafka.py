"""Moving recordings to and from Kafka with aiokafka: ``netloop record`` and ``netloop replay --broker``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import IO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.recording.files import Recorded


class BrokerError(ValueError):
    """A broker address that cannot be used."""


def bootstrap_servers(broker: str) -> str:
    """``kafka://host:port[,host:port]`` (or bare ``host:port``) → aiokafka's bootstrap string.

    >>> bootstrap_servers("kafka://127.0.0.1:9092")
    '127.0.0.1:9092'
    """
    hosts = broker.removeprefix("kafka://")
    if not hosts or "://" in hosts or any(":" not in h for h in hosts.split(",")):
        raise BrokerError(f"broker {broker!r} is not kafka://HOST:PORT[,HOST:PORT]")
    return hosts


async def record_from_kafka(broker: str, topic_names: list[str], out: IO[str], *,
                            from_beginning: bool = False, max_records: int | None = None,
                            idle_seconds: float = 5.0) -> int:
    """Write records of ``topic_names`` to ``out`` until ``max_records`` or ``idle_seconds`` of quiet."""
    consumer = AIOKafkaConsumer(*topic_names, bootstrap_servers=bootstrap_servers(broker),
                                group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest" if from_beginning else "latest")
    await consumer.start()
    written, last = 0, time.monotonic()
    try:
        while max_records is None or written < max_records:
            batch = await consumer.getmany(timeout_ms=200)
            if not batch and time.monotonic() - last > idle_seconds:
                break
            for msgs in batch.values():
                for m in msgs:
                    if max_records is not None and written >= max_records:
                        break
                    key = m.key.decode("utf-8", "replace") if m.key is not None else None
                    out.write(Recorded(m.topic, key, m.timestamp, m.value or b"").to_line() + "\n")
                    written += 1
                last = time.monotonic()
    finally:
        await consumer.stop()
    return written


async def replay_to_kafka(broker: str, messages: Iterable[Recorded], *,
                          speed: float | None = None) -> int:
    """Produce recorded records to their topics, keeping inter-arrival times scaled by ``speed``."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(broker), linger_ms=5)
    await producer.start()
    sent, first_ts, t0 = 0, None, time.perf_counter()
    try:
        for m in messages:
            if speed is not None:
                first_ts = m.timestamp_ms if first_ts is None else first_ts
                due = t0 + (m.timestamp_ms - first_ts) / 1000.0 / speed
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            key = m.key.encode() if m.key is not None else None
            await producer.send(m.topic, m.value, key=key)
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent
