"""``netloop replay FILE --format csv|long|pm``: outside telemetry through the loop, or onto Kafka.

Embedded, the recording runs through detect → localize → decide with acting off and, with
``--labels``, the loop's own report is scored against the labelled faults
(:mod:`streams.evaluate.labelled`). With ``--broker`` the recording's topology, frames and tick
marks are published as the emulator publishes them, for ``netloop worker`` processes started with
the same catalogue (``NETLOOP_CATALOGUE``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from rich.console import Console, Group
from rich.table import Table

from actuators import PolicyError
from schemas.catalogue import CatalogueError
from streams.cli.common import err, fail, read_settings, write_json
from streams.evaluate.labelled import LabelledScore, LabelsError, Opened, read_labels, score
from streams.ingest.feed import Format, Prepared, prepare, sample_source
from streams.ingest.mapping import MappingError, load_rules
from streams.ingest.recordings import RecordingError
from streams.recording.replay import ReplayReport, replay_dry_run


@dataclass(frozen=True)
class OutsideOptions:
    """How to read outside telemetry and what to score it against."""

    fmt: str
    catalogue: Path | None = None
    topology: Path | None = None
    labels: Path | None = None
    rules: Path | None = None
    tick_s: float | None = None
    grace: int = 5


def replay_outside(path: Path, opts: OutsideOptions, *, broker: str | None, pace: float | None,
                   json_out: str | None) -> None:
    """Prepare the recording, then replay it embedded (scored with labels) or onto a broker."""
    prepared = prepare_outside(path, opts)
    labels = None
    if opts.labels is not None:
        try:
            labels = read_labels(opts.labels)
        except LabelsError as exc:
            raise fail(str(exc)) from None
    if broker is not None:
        if labels is not None:
            raise fail("--labels scores the embedded loop; it does not combine with --broker")
        publish_outside(prepared, broker, pace)
        return
    settings = read_settings()
    # the recording is the operator's own: its silences are gaps, not forged ticks far ahead
    settings = settings.model_copy(update={
        "tick_max_ahead": max(settings.tick_max_ahead, prepared.longest_gap_ticks + 1)})
    try:
        report = asyncio.run(replay_dry_run(prepared.records(), settings, speed=pace,
                                            catalogue=prepared.catalogue))
    except PolicyError as exc:
        raise fail(str(exc)) from None
    scored = None
    if labels is not None:
        opened = [Opened(opened_tick=i.opened_tick, candidates=i.candidates, fault_type=i.fault_type)
                  for i in report.incidents]
        scored = score(opened, labels, prepared.tick_of, grace_ticks=opts.grace)
    if json_out:
        body = report.model_dump(mode="json")
        write_json(json_out, {**scored.model_dump(mode="json"), "replay": body} if scored else body)
    if json_out != "-":
        Console().print(_summary(prepared, report, scored))


def publish_outside(prepared: Prepared, broker: str, pace: float | None) -> None:
    """Publish the recording's topology, frames, tick marks and dead letters (exit 2 if the broker
    cannot be reached); say what was sent on stderr."""
    from streams.kafka.publish import BrokerError, publish_records

    try:
        sent = asyncio.run(publish_records(broker, prepared.records(), read_settings(), speed=pace))
    except BrokerError as exc:
        raise fail(str(exc)) from None
    err.print(f"published {sent.records} records ({sent.frames} frames, {sent.ticks} tick marks, "
              f"{sent.dead_letters} dead letters) to {broker}", highlight=False)


def prepare_outside(path: Path, opts: OutsideOptions) -> Prepared:
    """The recording with its catalogue, topology and clock settled (exit 2 naming what is wrong)."""
    if opts.fmt not in get_args(Format):
        raise fail(f"--format {opts.fmt!r}: expected one of {', '.join(get_args(Format))}")
    try:
        rules = load_rules(opts.rules) if opts.rules is not None else None
        read = sample_source(path, opts.fmt, rules)  # type: ignore[arg-type]
        return prepare(read, name=path.stem, catalogue=opts.catalogue, topology=opts.topology,
                       tick_s=opts.tick_s)
    except (RecordingError, CatalogueError, MappingError) as exc:
        raise fail(str(exc)) from None


def _summary(prepared: Prepared, report: ReplayReport, scored: LabelledScore | None) -> Group:
    kinds = ", ".join(f"{k} ({len(prepared.catalogue.kpis(k))} KPIs)" for k in prepared.catalogue.observable)
    head = Table.grid(padding=(0, 2))
    head.add_row("catalogue", f"{prepared.catalogue.name}: {kinds}")
    head.add_row("clock", f"tick = {prepared.tick_s:g} s from {prepared.origin_s:.0f}; "
                          f"{report.ticks} ticks with telemetry, {prepared.samples} samples")
    head.add_row("loop", f"{len(report.incidents)} incidents, {report.dead_letters} dead letters, "
                         f"{report.wall_seconds:.1f} s")
    decided: dict[str, int] = {}
    for p in report.planned:
        decided[p.decision] = decided.get(p.decision, 0) + 1
    head.add_row("would have", ", ".join(f"{n} {d}" for d, n in sorted(decided.items())) or "done nothing")
    parts: list = [head]
    if scored is not None:
        t = Table(title=f"against {scored.faults_injected} labelled faults "
                        f"(grace {scored.grace_ticks} ticks)")
        for c in ("detected", "top-1", "top-3", "MTTD (ticks)", "incidents", "false incidents"):
            t.add_column(c, justify="right")
        n = max(1, scored.faults_injected)
        t.add_row(f"{scored.faults_detected} ({scored.faults_detected / n:.0%})",
                  f"{scored.faults_localized_top1} ({scored.faults_localized_top1 / n:.0%})",
                  f"{scored.faults_localized_top3} ({scored.faults_localized_top3 / n:.0%})",
                  "-" if scored.mttd_ticks is None else f"{scored.mttd_ticks:.2f}",
                  str(scored.incidents_opened), str(scored.false_incidents))
        parts.append(t)
    return Group(*parts)
