"""``netloop run --broker``: emulator and a worker in one process, against a Kafka cluster."""

from __future__ import annotations

import asyncio
import time

from actuators import Executor
from simulator import Scenario
from streams.evaluate.report import RunReport, build_report
from streams.kafka.agents import KafkaHooks, create_app
from streams.kafka.emulator import Emulator
from streams.kafka.topics import ensure_topics
from streams.metrics import LoopMetrics
from streams.recording.recorder import Recorder
from streams.settings import Settings
from streams.tools.mcp_caller import HttpToolCaller


async def run_on_kafka(scenario: Scenario, settings: Settings, *, speed: float, act: bool = True,
                       ticks: int | None = None, create_topics: bool = True,
                       settle_seconds: float = 60.0) -> RunReport:
    """Publish a scenario through Kafka into a worker; score the run like an embedded one.

    The emulator paces ticks at ``speed`` ticks/s; the run ends once verify has
    closed the last tick (or ``settle_seconds`` after the last tick was sent).
    """
    if create_topics:
        await ensure_topics(settings)
    emulator = Emulator(scenario, settings, speed=speed)
    last = min(ticks or scenario.ticks, scenario.ticks) - 1
    recorder, rows, done, verified = Recorder(), [0], asyncio.Event(), [-1]

    def count(n: int) -> None:
        rows[0] += n

    def closed(stage: str, tick: int) -> None:
        if stage == "verify":
            verified[0] = tick
            if tick >= last:
                done.set()

    caller = HttpToolCaller(settings.mcp_url)
    app = create_app(settings, executor=Executor(caller=caller) if act else None,
                     metrics=LoopMetrics(),
                     hooks=KafkaHooks(extra=[recorder], on_rows=count, on_tick_closed=closed))
    tools = asyncio.create_task(emulator.serve_tools())
    start = time.perf_counter()
    try:
        await asyncio.wait_for(emulator.tools_ready.wait(), 30)
        await app.start()
        await emulator.publish(ticks, progress=lambda: verified[0])
        await asyncio.wait_for(done.wait(), settle_seconds)
    finally:
        await app.stop()
        await caller.close()
        emulator.stop_tools()
        await asyncio.wait_for(asyncio.gather(tools, return_exceptions=True), 30)
    return build_report(emulator.network, recorder, wall_seconds=time.perf_counter() - start,
                        entity_reports=rows[0])
