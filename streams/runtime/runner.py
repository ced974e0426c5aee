"""Running scenarios for the CLI: live or fast, and scoring them into reports."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.live import Live

from simulator import Scenario
from streams.audit import AuditTap
from streams.evaluate.report import RunReport, build_report
from streams.metrics import LoopMetrics
from streams.recording.files import recording_writer
from streams.recording.taps import RecordingTap
from streams.runtime.embedded import EmbeddedLoop, LoopState
from streams.runtime.pipeline import Stage
from streams.settings import Settings
from streams.view import render


async def run_scenario(scenario: Scenario, settings: Settings, *, act: bool = True,
                       ticks: int | None = None, speed: float | None = None, live: bool = False,
                       metrics: LoopMetrics | None = None, console: Console | None = None,
                       record: Path | None = None, netmcp_http: bool = False, control: bool = False,
                       audit: Path | None = None) -> RunReport:
    """Run one scenario through the embedded loop and score it; optionally record its telemetry,
    append its decisions to an ``audit`` file, and serve the control endpoint."""
    with ExitStack() as stack:
        taps: list[Stage] = []
        if record is not None:
            out = stack.enter_context(recording_writer(record))
            taps.append(RecordingTap(out, clock=lambda: _sim_ms(loop)))
        if audit is not None:
            audit.parent.mkdir(parents=True, exist_ok=True)
            taps.append(AuditTap(stack.enter_context(audit.open("a"))))
        loop = EmbeddedLoop(scenario, settings, act=act, metrics=metrics, taps=taps, netmcp_http=netmcp_http,
                            control=control)
        return await _run(loop, ticks=ticks, speed=speed, live=live, console=console)


def _sim_ms(loop: EmbeddedLoop) -> int:
    """Simulated time of the tick being published, in ms."""
    return int(max(loop.network.tick - 1, 0) * loop.scenario.tick_seconds * 1000)


async def _run(loop: EmbeddedLoop, *, ticks: int | None, speed: float | None, live: bool,
               console: Console | None) -> RunReport:
    start = time.perf_counter()
    if live:
        console = console or Console()
        with Live(console=console, refresh_per_second=8, transient=False) as view:
            def show(state: LoopState) -> None:
                view.update(render(state, wall_seconds=time.perf_counter() - start))
            state = await loop.run(ticks=ticks, speed=speed, on_tick=show)
    else:
        state = await loop.run(ticks=ticks, speed=speed)
    wall = time.perf_counter() - start
    return build_report(state.network, state.recorder, wall_seconds=wall,
                        entity_reports=state.entity_reports,
                        twin_checks=list(state.twin.checks) if state.twin is not None else None)


def is_terminal() -> bool:
    return sys.stdout.isatty()
