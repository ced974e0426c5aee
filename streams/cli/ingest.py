"""``netloop ingest``: telemetry from Prometheus targets, an OTLP/HTTP receiver or a folder of PM
files, mapped by a rule file, printed as JSON Lines samples (or counted). Frames and the bus come later."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from streams.cli.common import KAFKA, app, err, fail
from streams.cli.ingest_sources import Producer
from streams.ingest.mapping import MappingError, Rules, load_rules
from streams.ingest.samples import Rejected, Sample, Tally

SOURCES = ("prometheus", "otlp", "pm")
QUEUE_BATCHES = 64  # scrapes, requests or files waiting for the printer; producers wait past it


class Printer:
    """Prints samples as JSON Lines (or counts them per KPI) and rejections as lines on stderr."""

    def __init__(self, *, count: bool, limit: int | None) -> None:
        self.count, self.limit = count, limit
        self.tally, self.per_kpi = Tally(), Counter[str]()

    @property
    def done(self) -> bool:
        return self.limit is not None and self.tally.samples >= self.limit

    def take(self, items: list[Sample | Rejected]) -> None:
        for item in items:
            if self.done:
                return
            self.tally.count(item)
            if isinstance(item, Rejected):
                err.print(f"rejected {item.source}: {item.reason}", highlight=False, markup=False,
                          soft_wrap=True)
            elif self.count:
                self.per_kpi[item.kpi] += 1
            else:
                sys.stdout.write(json.dumps(item.as_json()) + "\n")
        sys.stdout.flush()

    def table(self) -> Table:
        table = Table("kpi", "samples", title="ingested")
        for kpi, n in sorted(self.per_kpi.items()):
            table.add_row(kpi, str(n))
        table.add_row("[bold]rejected[/]", str(self.tally.rejected))
        for why, n in sorted(self.tally.skipped.items()):
            table.add_row(f"[dim]skipped: {why}[/]", str(n))
        return table


@app.command("ingest", rich_help_panel=KAFKA)
def ingest(
    source: Annotated[str, typer.Option("--from", help="prometheus | otlp | pm")] = "",
    rules: Annotated[Path | None, typer.Option(help="rule file (YAML) naming entities and KPIs")] = None,
    target: Annotated[list[str] | None, typer.Option(help="prometheus: a /metrics URL (repeatable)")] = None,
    interval: Annotated[float, typer.Option(min=0.01, help="prometheus, pm: seconds between "
                                                          "scrapes or folder polls")] = 15.0,
    listen: Annotated[str, typer.Option(help="otlp: HOST:PORT to receive on")] = "127.0.0.1:4318",
    folder: Annotated[Path | None, typer.Option("--dir", help="pm: the folder PM files land in")] = None,
    pattern: Annotated[str, typer.Option(help="pm: file names to read (shell pattern)")] = "*.xml*",
    once: Annotated[bool, typer.Option("--once", help="prometheus: scrape each target once; pm: read "
                                                      "the folder's files once; then stop")] = False,
    count: Annotated[bool, typer.Option("--count", help="print a count per KPI at the end, "
                                                        "not the samples")] = False,
    max_samples: Annotated[int | None, typer.Option("--max", min=1, help="stop after N samples")] = None,
) -> None:
    """Read outside telemetry into samples: print them as JSON Lines (or --count them)."""
    if source not in SOURCES:
        raise fail(f"--from {source!r}: expected one of {', '.join(SOURCES)}" if source
                   else f"--from is required: one of {', '.join(SOURCES)}")
    if rules is None:
        raise fail("--rules RULES.yaml is required (see README, 'Real telemetry in')")
    try:
        mapping = load_rules(rules)
    except MappingError as exc:
        raise fail(str(exc)) from None
    printer = Printer(count=count, limit=max_samples)
    produce = _producer(source, mapping, target or [], interval, listen, folder, pattern, once,
                        printer.tally)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_drain(produce, printer))
    if count:
        Console().print(printer.table())


def _producer(source: str, mapping: Rules, targets: list[str], interval: float, listen: str,
              folder: Path | None, pattern: str, once: bool, skips: Tally) -> Producer:
    """The coroutine that feeds the queue, with its flags checked first (exit 2 naming the flag)."""
    if source == "prometheus":
        from streams.cli.ingest_sources import prometheus_producer

        return prometheus_producer(mapping, targets, interval, once, skips)
    if source == "otlp":
        from streams.cli.ingest_sources import otlp_producer

        return otlp_producer(mapping, listen, skips)
    from streams.cli.ingest_sources import pm_producer

    return pm_producer(mapping, folder, pattern, interval, once, skips)


async def _drain(produce: Producer, printer: Printer) -> None:
    queue: asyncio.Queue[list[Sample | Rejected]] = asyncio.Queue(QUEUE_BATCHES)
    producer = asyncio.create_task(produce(queue))
    while not printer.done:
        getter = asyncio.ensure_future(queue.get())
        await asyncio.wait({getter, producer}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            printer.take(getter.result())
            continue
        getter.cancel()
        while not queue.empty() and not printer.done:
            printer.take(queue.get_nowait())
        break
    producer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await producer
