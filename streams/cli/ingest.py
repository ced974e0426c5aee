"""``netloop ingest``: telemetry from Prometheus targets, an OTLP/HTTP receiver, a folder of PM
files or a recorded CSV/TSV file, mapped by a rule file, printed as JSON Lines samples (or counted).
A recording (``--from csv|long FILE``) with ``--broker`` is published instead, as topology,
telemetry frames and tick marks for ``netloop worker`` (:func:`streams.kafka.publish.publish_records`)."""

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

SOURCES = ("prometheus", "otlp", "pm", "csv", "long")
RECORDINGS = ("csv", "long")  # a file read from start to end; the others are live sources
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
    source: Annotated[str, typer.Option("--from", help="prometheus | otlp | pm | csv | long")] = "",
    file: Annotated[Path | None, typer.Argument(
        help="csv, long: the recording (time, then <entity>:<kpi> columns; or time,entity,kpi,value)",
        show_default=False)] = None,
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
    broker: Annotated[str | None, typer.Option(
        help="csv, long: publish the recording to kafka://HOST:PORT instead of printing it")] = None,
    catalogue: Annotated[Path | None, typer.Option(
        help="csv, long with --broker: KPI catalogue YAML (default: inferred from the recording)")] = None,
    topology: Annotated[Path | None, typer.Option(
        help="csv, long with --broker: graph.json ({\"edges\": [[upstream, downstream], ...]})")] = None,
    tick: Annotated[float | None, typer.Option(
        min=0.001, help="csv, long with --broker: seconds per tick (default: the sampling interval)")] = None,
) -> None:
    """Read outside telemetry into samples: print them as JSON Lines (or --count them); publish a
    recording (--from csv|long FILE --broker) as the loop's records."""
    if source not in SOURCES:
        raise fail(f"--from {source!r}: expected one of {', '.join(SOURCES)}" if source
                   else f"--from is required: one of {', '.join(SOURCES)}")
    mapping = _rules(rules, required=source not in RECORDINGS)
    printer = Printer(count=count, limit=max_samples)
    if source in RECORDINGS:
        if file is None:
            raise fail(f"--from {source} needs the recording: netloop ingest --from {source} FILE")
        if broker is not None:
            _publish(source, file, broker, rules=rules, catalogue=catalogue, topology=topology, tick=tick)
            return
        if catalogue or topology or tick:
            raise fail("--catalogue, --topology and --tick shape what is published: they need --broker")
        from streams.cli.ingest_sources import recording_producer

        produce = recording_producer(file, source, mapping)
    else:
        if file is not None or broker or catalogue or topology or tick:
            raise fail(f"FILE, --broker, --catalogue, --topology and --tick are for recordings "
                       f"(--from csv|long), not --from {source}")
        assert mapping is not None
        produce = _producer(source, mapping, target or [], interval, listen, folder, pattern, once,
                            printer.tally)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_drain(produce, printer))
    if count:
        Console().print(printer.table())


def _rules(path: Path | None, *, required: bool) -> Rules | None:
    """The mapping rules (exit 2 naming the field if bad); live sources need them, recordings may."""
    if path is None:
        if required:
            raise fail("--rules RULES.yaml is required (see README, 'Real telemetry in')")
        return None
    try:
        return load_rules(path)
    except MappingError as exc:
        raise fail(str(exc)) from None


def _publish(source: str, file: Path, broker: str, *, rules: Path | None, catalogue: Path | None,
             topology: Path | None, tick: float | None) -> None:
    """The recording onto Kafka as ``netloop replay --format`` puts it there, as fast as it goes."""
    from streams.cli.replay_outside import OutsideOptions, prepare_outside, publish_outside

    opts = OutsideOptions(fmt=source, catalogue=catalogue, topology=topology, rules=rules, tick_s=tick)
    publish_outside(prepare_outside(file, opts), broker, pace=None)


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
