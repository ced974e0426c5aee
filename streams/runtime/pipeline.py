"""The stages on an embedded bus: start, feed, close ticks, stop. No simulator, no MCP here.

:class:`Pipeline` runs each stage as a task reading its bounded inbox; a
record a stage cannot handle goes to the dead-letter topic with the reason.
The simulator-driven loop (:mod:`streams.runtime.embedded`) and the replay of a
recording (:mod:`streams.recording.replay`) both drive a pipeline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from pydantic import ValidationError

from schemas import DeadLetter, Record, topics
from streams.metrics import LoopMetrics
from streams.runtime.bus import EmbeddedBus, Message
from streams.runtime.perceive import BadRecord, PartlyUsed

log = logging.getLogger("netloop.pipeline")

Out = tuple[str, str | None, Record]


class Stage(Protocol):
    name: str
    topics: tuple[str, ...]

    async def handle(self, msg: Message) -> list[Out]: ...

    async def on_tick(self, tick: int) -> list[Out]: ...


class Pipeline:
    """Stages wired to a bus. Use as ``async with Pipeline(...) as p:``."""

    def __init__(self, stages: Sequence[Stage], *, bus: EmbeddedBus, metrics: LoopMetrics) -> None:
        self.bus, self.metrics = bus, metrics
        self._stages = [(st, bus.subscribe(st.name, st.topics)) for st in stages]
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Pipeline:
        self._tasks = [asyncio.create_task(self._serve(s, q), name=s.name) for s, q in self._stages]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def feed(self, topic: str, key: str | None, value: bytes) -> None:
        """Publish one record as an outside producer would, and let it settle."""
        await self.bus.publish(topic, key, value)
        await self.bus.drain()

    async def close_tick(self, tick: int) -> None:
        """Everything of ``tick`` is in: run each stage's time-driven work, in stage order."""
        await self.bus.drain()
        for stage, _ in self._stages:
            for topic, key, record in await stage.on_tick(tick):
                await self.bus.publish(topic, key, record.encode())
                self.metrics.observe_output(stage.name, record)
            await self.bus.drain()

    async def _serve(self, stage: Stage, inbox: asyncio.Queue[Message]) -> None:
        m = self.metrics
        records_in, processing = m.records_in.labels(stage.name), m.processing.labels(stage.name)
        while True:
            msg = await inbox.get()
            try:
                records_in.inc()
                t0 = time.perf_counter()
                for topic, key, record in await self._handle(stage, msg):
                    await self.bus.publish(topic, key, record.encode())
                    m.observe_output(stage.name, record)
                processing.observe(time.perf_counter() - t0)
            finally:
                self.bus.done()

    async def _handle(self, stage: Stage, msg: Message) -> list[Out]:
        return await handle_safely(stage, msg, self.metrics)


async def handle_safely(stage: Stage, msg: Message, metrics: LoopMetrics,
                        partition: int | None = None) -> list[Out]:
    """``stage.handle(msg)``, with any record it cannot handle turned into a dead letter."""
    outs: list[Out] = []
    try:
        return await stage.handle(msg)
    except PartlyUsed as exc:  # what the good part made goes on; the letter says what was left out
        outs, kind, reason = exc.outs, exc.kind, str(exc)
    except BadRecord as exc:
        kind, reason = exc.kind, str(exc)
    except ValidationError as exc:
        kind, reason = "schema", f"schema violation: {exc.errors()[0]['msg']}"
    except Exception as exc:  # one bad record must never stop a stage
        log.exception("stage %s failed on %s offset %d", stage.name, msg.topic, msg.offset)
        kind, reason = "error", f"{type(exc).__name__}: {exc}"
    metrics.dead_letters.labels(stage.name, kind).inc()
    letter = DeadLetter.of(msg.value, source_topic=msg.topic, stage=stage.name, reason=reason,
                           key=msg.key, partition=partition, offset=msg.offset)
    return [*outs, (topics.DLQ, msg.topic, letter)]
