"""The ``netloop`` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from actuators import PolicyError
from simulator import Scenario, ScenarioError, builtin_scenarios, load_scenario, validate_scenario
from streams.metrics import LoopMetrics
from streams.report import RunReport
from streams.settings import Settings

app = typer.Typer(help="netloop: closed-loop assurance for mobile networks.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
netmcp_app = typer.Typer(help="NetMCP tool servers.", no_args_is_help=True)
app.add_typer(netmcp_app, name="netmcp")
schemas_app = typer.Typer(help="The records on the bus.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")

err = Console(stderr=True)

ScenarioOpt = Annotated[str, typer.Option("--scenario", "-s", help="built-in name or YAML path")]
JsonOpt = Annotated[str | None, typer.Option("--json", help="write the JSON report to PATH, or - for stdout")]


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("mcp").setLevel(logging.WARNING)
    app()


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=2)


def _load(name: str) -> Scenario:
    """Load and fully validate a scenario: fields, then targets against its topology."""
    try:
        scenario = load_scenario(name)
        validate_scenario(scenario)
    except ScenarioError as exc:
        raise _fail(f"{name}: {exc}" if str(exc).startswith("faults") else str(exc)) from None
    return scenario


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise _fail(f"invalid NETLOOP_* setting: {exc}") from None


def _write_json(dest: str, payload: object) -> None:
    text = json.dumps(payload, indent=2)
    if dest == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(dest).write_text(text + "\n")


@app.command()
def run(
    scenario: ScenarioOpt = "demo",
    ticks: Annotated[int | None, typer.Option(min=1, help="stop after N ticks")] = None,
    speed: Annotated[float | None, typer.Option(min=0.1, help="ticks per second")] = None,
    fast: Annotated[bool, typer.Option("--fast", help="as fast as possible, no pacing")] = False,
    no_act: Annotated[bool, typer.Option("--no-act", help="detect and plan, execute nothing")] = False,
    json_out: JsonOpt = None,
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus /metrics on this port")] = None,
    policies: Annotated[Path | None, typer.Option(help="policy YAML replacing the default")] = None,
    record: Annotated[Path | None,
                      typer.Option(help="record topology and telemetry to FILE (.jsonl[.gz])")] = None,
) -> None:
    """Run a scenario through the whole loop, with a live view in a terminal."""
    from streams.runner import is_terminal, run_scenario
    from streams.view import report_table

    sc = _load(scenario)
    settings = _settings()
    if policies is not None:
        settings = settings.model_copy(update={"policies": policies})
    live = is_terminal() and json_out != "-"
    if fast:
        speed = None
    elif speed is None and live:
        speed = max(1.0, (ticks or sc.ticks) / 60.0)  # about a minute of wall time
    metrics = LoopMetrics()
    if metrics_port is not None:
        from prometheus_client import start_http_server
        start_http_server(metrics_port, addr="127.0.0.1", registry=metrics.registry)
    try:
        report = asyncio.run(run_scenario(sc, settings, act=not no_act, ticks=ticks, speed=speed,
                                          live=live, metrics=metrics, record=record))
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    if json_out:
        _write_json(json_out, report.model_dump(mode="json"))
    if json_out != "-":
        Console().print(report_table([report]))


@app.command()
def evaluate(
    scenarios: Annotated[list[str] | None,
                         typer.Argument(help="names or paths; default: all built-in")] = None,
    json_out: JsonOpt = None,
    no_act: Annotated[bool, typer.Option("--no-act", help="detect and plan, execute nothing")] = False,
) -> None:
    """Run scenarios fast, without the live view; one report row per scenario, plus totals."""
    from streams.runner import run_scenario
    from streams.view import report_table

    loaded = [_load(s) for s in (scenarios or builtin_scenarios())]
    settings = _settings()
    reports: list[RunReport] = []
    for sc in loaded:
        if json_out != "-":
            err.print(f"running {sc.name} ({sc.ticks} ticks)…", highlight=False)
        reports.append(asyncio.run(run_scenario(sc, settings, act=not no_act)))
    if json_out:
        _write_json(json_out, [r.model_dump(mode="json") for r in reports])
    if json_out != "-":
        Console().print(report_table(reports))


@app.command("scenarios")
def list_scenarios() -> None:
    """List the built-in scenarios."""
    for name in builtin_scenarios():
        sc = load_scenario(name)
        t = sc.topology
        typer.echo(f"{name:12s} {sc.ticks:6d} ticks  {t.sites} sites × {t.cells_per_site} cells  "
                   f"{len(sc.faults) + (sc.random_faults.count if sc.random_faults else 0)} faults")


@app.command("record")
def record_cmd(
    broker: Annotated[str, typer.Option(help="kafka://HOST:PORT")],
    topic: Annotated[list[str], typer.Option(help="topic to record (repeatable)")],
    out: Annotated[Path, typer.Option(help="recording to write (.jsonl, or .jsonl.gz)")],
    from_beginning: Annotated[bool, typer.Option("--from-beginning",
                                                 help="start at the earliest offset")] = False,
    max_records: Annotated[int | None, typer.Option("--max", min=1, help="stop after N records")] = None,
    idle: Annotated[float, typer.Option(min=0.1, help="stop after this many seconds without records")] = 5.0,
) -> None:
    """Record topics from Kafka to a JSON Lines file."""
    from streams.kafka_io import BrokerError, record_from_kafka
    from streams.recording import recording_writer

    try:
        with recording_writer(out) as f:
            n = asyncio.run(record_from_kafka(broker, topic, f, from_beginning=from_beginning,
                                              max_records=max_records, idle_seconds=idle))
    except BrokerError as exc:
        raise _fail(str(exc)) from None
    err.print(f"recorded {n} records to {out}", highlight=False)


def _speed(text: str | None, max_speed: bool) -> float | None:
    if max_speed or text is None:
        return None
    try:
        value = float(text.removesuffix("x"))
    except ValueError:
        raise _fail(f"--speed {text!r} is not a factor like 10x") from None
    if value <= 0:
        raise _fail("--speed must be above 0")
    return value


@app.command()
def replay(
    recording: Annotated[Path, typer.Argument(help="a recording (.jsonl or .jsonl.gz)")],
    broker: Annotated[str | None, typer.Option(help="kafka://HOST:PORT; default: the embedded loop")] = None,
    speed: Annotated[str | None,
                     typer.Option(help="time factor, e.g. 10x (default: as fast as possible)")] = None,
    max_speed: Annotated[bool, typer.Option("--max-speed", help="no pacing")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="run the loop on it, execute nothing")] = False,
    warmup_ticks: Annotated[int, typer.Option(min=0, help="ticks the baselines learn before scoring")] = 300,
    json_out: JsonOpt = None,
) -> None:
    """Play a recording into Kafka, or through the loop without acting (--dry-run)."""
    from streams.recording import RecordingError, read_recording

    pace = _speed(speed, max_speed)
    if broker is not None:
        if dry_run:
            raise _fail("--dry-run runs the embedded loop; it does not combine with --broker")
        _replay_to_broker(broker, recording, pace)
        return
    if not dry_run:
        err.print("note: the embedded loop has no network behind a recording, so it never acts "
                  "(as with --dry-run)", highlight=False)
    from streams.replay import replay_dry_run

    try:
        report = asyncio.run(replay_dry_run(read_recording(recording), _settings(),
                                            warmup_ticks=warmup_ticks, speed=pace))
    except (RecordingError, PolicyError) as exc:
        raise _fail(str(exc)) from None
    if json_out:
        _write_json(json_out, report.model_dump(mode="json"))
    if json_out != "-":
        from streams.view import replay_table

        Console().print(replay_table(report))


def _replay_to_broker(broker: str, recording: Path, pace: float | None) -> None:
    from streams.kafka_io import BrokerError, replay_to_kafka
    from streams.recording import RecordingError, read_recording

    try:
        n = asyncio.run(replay_to_kafka(broker, read_recording(recording), speed=pace))
    except (BrokerError, RecordingError) as exc:
        raise _fail(str(exc)) from None
    err.print(f"replayed {n} records to {broker}", highlight=False)


@schemas_app.command("export")
def schemas_export(folder: Annotated[Path, typer.Argument(help="folder to write into")]) -> None:
    """Write a JSON Schema per topic (<topic>.schema.json)."""
    from schemas import export_schemas

    for path in export_schemas(folder):
        typer.echo(str(path))


@app.command()
def bench(
    sites: Annotated[int, typer.Option(min=1, help="sites in the end-to-end scenario")] = 1000,
) -> None:
    """Measure detector and end-to-end throughput, each beside a baseline from the same run."""
    from rich.table import Table

    from streams.bench import detector_rates, end_to_end_rate

    rates = detector_rates()
    t = Table(title="netloop bench: detectors (3000 entities × 9 KPIs per step)")
    t.add_column("path")
    t.add_column("KPI values/s", justify="right")
    t.add_column("× per-row", justify="right")
    for name, rate in rates.items():
        t.add_row(name, f"{rate:,.0f}", f"{rate / rates['detector_per_row']:.1f}")
    Console().print(t)
    e2e, entities = end_to_end_rate(sites=sites)
    Console().print(f"end to end (embedded loop, {entities} entities): {e2e:,.0f} entity reports/s")


@netmcp_app.command("serve")
def netmcp_serve(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1")] = 8765,
    scenario: ScenarioOpt = "demo",
    speed: Annotated[float, typer.Option(min=0.1, help="network ticks per second")] = 1.0,
) -> None:
    """Serve the simulated network's tools over MCP streamable HTTP at http://127.0.0.1:PORT/mcp."""
    from streams.serve import serve_network

    sc = _load(scenario)
    err.print(f"NetMCP tools of scenario {sc.name} at http://127.0.0.1:{port}/mcp", highlight=False)
    asyncio.run(serve_network(sc, port=port, speed=speed))
