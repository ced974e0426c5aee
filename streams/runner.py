"""Running scenarios for the CLI: live or fast, and scoring them into reports."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.live import Live

from simulator import Scenario
from streams.embedded import EmbeddedLoop, LoopState
from streams.metrics import LoopMetrics
from streams.report import RunReport, build_report
from streams.settings import Settings
from streams.view import render


async def run_scenario(scenario: Scenario, settings: Settings, *, act: bool = True,
                       ticks: int | None = None, speed: float | None = None, live: bool = False,
                       metrics: LoopMetrics | None = None, console: Console | None = None
                       ) -> RunReport:
    """Run one scenario through the embedded loop and score it."""
    loop = EmbeddedLoop(scenario, settings, act=act, metrics=metrics)
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
                        entity_reports=state.entity_reports)


def is_terminal() -> bool:
    return sys.stdout.isatty()
