"""The embedded runtime: simulator, NetMCP server, and all stages in one process on one bus."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Protocol

from mcp import Client
from pydantic import ValidationError

from actuators import Executor, PolicyTable, Verifier
from netmcp import build_server
from schemas import DeadLetter, Record, topics
from simulator import Network, Scenario
from streams.bus import EmbeddedBus, Message
from streams.metrics import LoopMetrics
from streams.perceive import BadRecord
from streams.recorder import Recorder
from streams.settings import Settings
from streams.stages import (
    ActStage,
    DecideStage,
    DetectorConfig,
    DetectStage,
    LocalizeStage,
    VerifyStage,
)

log = logging.getLogger("netloop.embedded")


class Stage(Protocol):
    name: str
    topics: tuple[str, ...]

    async def handle(self, topic: str, value: bytes) -> list[tuple[str, str | None, Record]]: ...

    async def on_tick(self, tick: int) -> list[tuple[str, str | None, Record]]: ...


@dataclass
class LoopState:
    """What the live view and the report read after each tick."""

    network: Network
    recorder: Recorder
    metrics: LoopMetrics
    bus: EmbeddedBus
    executor: Executor
    entity_reports: int = 0


TickHook = Callable[[LoopState], Awaitable[None] | None]


class EmbeddedLoop:
    """Runs a scenario through the whole loop, tick by tick.

    After each tick's telemetry is published the bus is drained, so every
    stage has seen the tick before the next one starts: a run is
    reproducible for a seed, whatever the speed.
    """

    def __init__(self, scenario: Scenario, settings: Settings, *, act: bool = True,
                 metrics: LoopMetrics | None = None) -> None:
        self.scenario, self.settings, self.act = scenario, settings, act
        self.network = Network.from_scenario(scenario)
        self.bus = EmbeddedBus(maxsize=settings.queue_size)
        self.metrics = metrics or LoopMetrics()
        self.recorder = Recorder()
        policies = PolicyTable.load(settings.policies) if settings.policies else PolicyTable.default()
        self._policies = policies
        self.state: LoopState | None = None

    async def run(self, *, ticks: int | None = None, speed: float | None = None,
                  on_tick: TickHook | None = None) -> LoopState:
        """Run ``ticks`` ticks (default: the scenario's), paced at ``speed`` ticks/s if given."""
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(Client(build_server(self.network)))
            state = self._wire(client)
            tasks = [asyncio.create_task(self._serve(s, q)) for s, q in self._stages]
            try:
                await self._publish_topology()
                await self._ticks(state, ticks or self.scenario.ticks, speed, on_tick)
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        return state

    def _wire(self, client: Client) -> LoopState:
        executor = Executor(caller=client)
        s = self.settings
        self.state = state = LoopState(self.network, self.recorder, self.metrics, self.bus, executor)

        def count_rows(n: int) -> None:
            state.entity_reports += n
            self.metrics.entity_reports.inc(n)

        warmup = max(30, self.scenario.warmup_ticks // 2)
        stages: list[Stage] = [
            DetectStage(DetectorConfig(threshold=s.z_threshold, warmup=warmup), on_rows=count_rows),
            LocalizeStage(),
            DecideStage(self._policies, act=self.act),
            ActStage(executor, clock=lambda: self.network.tick),
            VerifyStage(Verifier(recovery_ticks=s.recovery_ticks, verify_ticks=s.verify_ticks,
                                 max_attempts=s.max_attempts)),
            self.recorder,
        ]
        self._stages = [(st, self.bus.subscribe(st.name, st.topics)) for st in stages]
        return state

    async def _publish_topology(self) -> None:
        for rec in self.network.topology_records():
            await self.bus.publish(topics.TOPOLOGY, rec.entity_id, rec.encode())
        await self.bus.drain()

    async def _ticks(self, state: LoopState, ticks: int, speed: float | None,
                     on_tick: TickHook | None) -> None:
        start = time.perf_counter()
        for n in range(min(ticks, self.scenario.ticks)):
            await self.publish_tick()
            if on_tick is not None:
                result = on_tick(state)
                if asyncio.iscoroutine(result):
                    await result
            if speed:
                await asyncio.sleep(max(0.0, start + (n + 1) / speed - time.perf_counter()))

    async def publish_tick(self) -> None:
        """Step the network one tick, publish its telemetry, run every stage to quiescence."""
        tick = self.network.tick
        for frame in self.network.step():
            await self.bus.publish(topics.TELEMETRY, frame.shard, frame.encode())
        await self.bus.drain()
        for stage, _ in self._stages:
            for topic, key, record in await stage.on_tick(tick):
                await self.bus.publish(topic, key, record.encode())
            await self.bus.drain()
        self.metrics.incidents_open.set(self.recorder.open_count())

    async def inject(self, topic: str, key: str | None, value: bytes) -> None:
        """Publish raw bytes as an outside producer would (tests, replay)."""
        await self.bus.publish(topic, key, value)
        await self.bus.drain()

    async def _serve(self, stage: Stage, inbox: asyncio.Queue[Message]) -> None:
        m = self.metrics
        records_in, records_out = m.records_in.labels(stage.name), m.records_out.labels(stage.name)
        processing = m.processing.labels(stage.name)
        while True:
            msg = await inbox.get()
            try:
                records_in.inc()
                t0 = time.perf_counter()
                for topic, key, record in await self._handle(stage, msg):
                    await self.bus.publish(topic, key, record.encode())
                    records_out.inc()
                    if topic == topics.ACTION_RESULTS:
                        m.actions.labels("ok" if record.ok else "failed").inc()  # type: ignore[attr-defined]
                processing.observe(time.perf_counter() - t0)
            finally:
                self.bus.done()

    async def _handle(self, stage: Stage, msg: Message) -> list[tuple[str, str | None, Record]]:
        try:
            return await stage.handle(msg.topic, msg.value)
        except BadRecord as exc:
            return [self._dead_letter(stage, msg, exc.kind, str(exc))]
        except ValidationError as exc:
            return [self._dead_letter(stage, msg, "schema", f"schema violation: {exc.errors()[0]['msg']}")]
        except Exception as exc:  # one bad record must never stop a stage
            log.exception("stage %s failed on %s offset %d", stage.name, msg.topic, msg.offset)
            return [self._dead_letter(stage, msg, "error", f"{type(exc).__name__}: {exc}")]

    def _dead_letter(self, stage: Stage, msg: Message, kind: str, reason: str
                     ) -> tuple[str, str | None, Record]:
        self.metrics.dead_letters.labels(stage.name, kind).inc()
        letter = DeadLetter.of(msg.value, source_topic=msg.topic, stage=stage.name, reason=reason,
                               key=msg.key, offset=msg.offset)
        return (topics.DLQ, msg.topic, letter)
