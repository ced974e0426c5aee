"""Commands for Kafka and recordings: worker, emulate, topics create, record, replay, schemas export."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from actuators import PolicyError
from streams.cli.common import (
    KAFKA,
    JsonOpt,
    ScenarioOpt,
    app,
    err,
    fail,
    load_checked,
    read_settings,
    schemas_app,
    write_json,
)
from streams.settings import Settings

BrokerOpt = Annotated[str | None, typer.Option(help="kafka://HOST:PORT (default: NETLOOP_BROKER)")]
topics_app = typer.Typer(help="The catalogue's topics on a Kafka cluster.", no_args_is_help=True)
app.add_typer(topics_app, name="topics", rich_help_panel=KAFKA)


def _broker_settings(broker: str | None) -> Settings:
    """The NETLOOP_* settings, with ``broker`` if given, refused early if it is not kafka://HOST:PORT."""
    from streams.recording.kafka import BrokerError, bootstrap_servers

    settings = read_settings()
    if broker is not None:
        settings = settings.model_copy(update={"broker": broker})
    try:
        bootstrap_servers(settings.broker)
    except BrokerError as exc:
        raise fail(str(exc)) from None
    return settings


def _create_topics(settings: Settings) -> list[str]:
    """Create the catalogue's missing topics; an unreachable or unwilling cluster exits 2."""
    from aiokafka.errors import KafkaConnectionError

    from streams.kafka.topics import TopicError, ensure_topics

    try:
        return asyncio.run(ensure_topics(settings))
    except TopicError as exc:
        raise fail(str(exc)) from None
    except KafkaConnectionError:
        raise fail(f"no Kafka broker answers at {settings.broker}; is it running and reachable "
                   "from here?") from None


@topics_app.command("create")
def topics_create(broker: BrokerOpt = None) -> None:
    """Create the catalogue's missing topics (netloop.telemetry with NETLOOP_PARTITIONS partitions)."""
    from schemas import topics
    from streams.kafka.topics import describe

    settings = _broker_settings(broker)
    created = _create_topics(settings)
    if created:
        err.print(f"created on {settings.broker}: {describe(created, settings)}", highlight=False)
    else:
        err.print(f"all {len(topics.ALL_TOPICS)} topics of the catalogue exist on {settings.broker}",
                  highlight=False)


@app.command(rich_help_panel=KAFKA)
def worker(
    broker: BrokerOpt = None,
    create_topics: Annotated[bool, typer.Option(help="create missing catalogue topics first")] = True,
    metrics_port: Annotated[int | None,
                            typer.Option(help="serve Prometheus /metrics on this port")] = None,
    metrics_host: Annotated[str, typer.Option(help="address /metrics listens on (0.0.0.0: every "
                                                   "interface, e.g. in a container)")] = "127.0.0.1",
) -> None:
    """Run the loop's stages as a faust worker; scale out by starting more (up to the partitions)."""
    import os

    if broker is not None:
        os.environ["NETLOOP_BROKER"] = broker  # read once, by the settings streams.app builds
    settings = _broker_settings(None)
    if problem := settings.management_problem():
        raise fail(problem)
    if create_topics:
        created = _create_topics(settings)
        if created:
            err.print(f"created topics: {', '.join(created)}", highlight=False)
    from faust import Worker

    from streams.app import app as faust_app
    from streams.app import metrics

    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host, registry=metrics.registry)
    Worker(faust_app, loglevel="WARNING").execute_from_commandline()


@app.command(rich_help_panel=KAFKA)
def emulate(
    broker: BrokerOpt = None,
    scenario: ScenarioOpt = "demo",
    speed: Annotated[float, typer.Option(min=0.1, help="network ticks per second")] = 1.0,
) -> None:
    """Run the simulated network on Kafka: topology and telemetry out, tool calls in over MCP.

    When the scenario's ticks are out, the tools stay up (a worker may still be
    catching up and acting) until the process is stopped.
    """
    from streams.kafka.emulator import Emulator

    sc = load_checked(scenario)
    settings = _broker_settings(broker)
    if problem := settings.management_problem():
        raise fail(problem)

    async def go() -> None:
        emulator = Emulator(sc, settings, speed=speed)
        tools = asyncio.create_task(emulator.serve_tools())
        await emulator.tools_ready.wait()
        err.print(f"emulating {sc.name} on {settings.broker}; tools at {settings.mcp_url}",
                  highlight=False)
        await emulator.publish()
        err.print(f"scenario {sc.name} finished at tick {emulator.network.tick}; the tools stay up "
                  "until you stop this process", highlight=False)
        await tools

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())


@app.command("record", rich_help_panel=KAFKA)
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
    from streams.recording.files import recording_writer
    from streams.recording.kafka import BrokerError, record_from_kafka

    try:
        with recording_writer(out) as f:
            n = asyncio.run(record_from_kafka(broker, topic, f, from_beginning=from_beginning,
                                              max_records=max_records, idle_seconds=idle))
    except BrokerError as exc:
        raise fail(str(exc)) from None
    err.print(f"recorded {n} records to {out}", highlight=False)


def _speed(text: str | None, max_speed: bool) -> float | None:
    if max_speed or text is None:
        return None
    try:
        value = float(text.removesuffix("x"))
    except ValueError:
        raise fail(f"--speed {text!r} is not a factor like 10x") from None
    if value <= 0:
        raise fail("--speed must be above 0")
    return value


@app.command(rich_help_panel=KAFKA)
def replay(
    recording: Annotated[Path, typer.Argument(help="a recording: netloop's (.jsonl[.gz]), or outside "
                                                   "telemetry with --format")],
    broker: Annotated[str | None, typer.Option(help="kafka://HOST:PORT; default: the embedded loop")] = None,
    speed: Annotated[str | None,
                     typer.Option(help="time factor, e.g. 10x (default: as fast as possible)")] = None,
    max_speed: Annotated[bool, typer.Option("--max-speed", help="no pacing")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="run the loop on it, execute nothing")] = False,
    json_out: JsonOpt = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="outside telemetry: csv (time, then <entity>:<kpi> columns), long "
                         "(time,entity,kpi,value) or pm (a folder of 3GPP measCollecFile XML)")] = None,
    catalogue: Annotated[Path | None, typer.Option(
        help="KPI catalogue YAML of the telemetry (default: inferred from the recording)")] = None,
    topology: Annotated[Path | None, typer.Option(
        help="graph.json ({\"edges\": [[upstream, downstream], ...]}); default: the catalogue's "
             "parents")] = None,
    labels: Annotated[Path | None, typer.Option(
        help="labelled faults, JSON Lines {start, end, root_cause, type?}: score the loop against "
             "them")] = None,
    rules: Annotated[Path | None, typer.Option(help="mapping rules YAML (needed for pm)")] = None,
    tick: Annotated[float | None, typer.Option(
        min=0.001, help="seconds per tick (default: the recording's most common sampling interval)")] = None,
    grace: Annotated[int, typer.Option(
        min=0, help="ticks after a labelled fault's end in which an incident still counts for it")] = 5,
) -> None:
    """Play a recording into Kafka, or through the loop without acting (--dry-run); outside telemetry
    (--format) with a score against labelled faults (--labels)."""
    from streams.recording.files import RecordingError, read_recording

    pace = _speed(speed, max_speed)
    if fmt is not None:
        from streams.cli.replay_outside import OutsideOptions, replay_outside

        replay_outside(recording, OutsideOptions(fmt=fmt, catalogue=catalogue, topology=topology,
                                                 labels=labels, rules=rules, tick_s=tick, grace=grace),
                       broker=broker, pace=pace, json_out=json_out)
        return
    if catalogue or topology or labels or rules or tick:
        raise fail("--catalogue, --topology, --labels, --rules and --tick are for outside telemetry "
                   "(--format csv|long|pm)")
    if broker is not None:
        if dry_run:
            raise fail("--dry-run runs the embedded loop; it does not combine with --broker")
        _replay_to_broker(broker, recording, pace)
        return
    if not dry_run:
        err.print("note: the embedded loop has no network behind a recording, so it never acts "
                  "(as with --dry-run)", highlight=False)
    from streams.recording.replay import replay_dry_run

    try:
        report = asyncio.run(replay_dry_run(read_recording(recording), read_settings(), speed=pace))
    except (RecordingError, PolicyError) as exc:
        raise fail(str(exc)) from None
    if json_out:
        write_json(json_out, report.model_dump(mode="json"))
    if json_out != "-":
        from streams.view import replay_table

        Console().print(replay_table(report))


def _replay_to_broker(broker: str, recording: Path, pace: float | None) -> None:
    from streams.recording.files import RecordingError, read_recording
    from streams.recording.kafka import BrokerError, replay_to_kafka

    try:
        n = asyncio.run(replay_to_kafka(broker, read_recording(recording), speed=pace))
    except (BrokerError, RecordingError) as exc:
        raise fail(str(exc)) from None
    err.print(f"replayed {n} records to {broker}", highlight=False)


@schemas_app.command("export")
def schemas_export(folder: Annotated[Path, typer.Argument(help="folder to write into")]) -> None:
    """Write a JSON Schema per topic (<topic>.schema.json)."""
    from schemas import export_schemas

    for path in export_schemas(folder):
        typer.echo(str(path))
