"""Commands that run the loop: run, evaluate, scenarios, episodes, bench, and the NetMCP tool server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from actuators import PolicyError
from simulator import Scenario, builtin_scenarios, load_scenario
from streams.cli.common import (
    LOOP,
    JsonOpt,
    ScenarioOpt,
    app,
    err,
    fail,
    load_checked,
    read_settings,
    write_json,
)
from streams.evaluate.report import RunReport
from streams.metrics import LoopMetrics
from streams.settings import Settings


@app.command(rich_help_panel=LOOP)
def run(
    scenario: ScenarioOpt = "demo",
    ticks: Annotated[int | None, typer.Option(min=1, help="stop after N ticks")] = None,
    speed: Annotated[float | None, typer.Option(min=0.1, help="ticks per second")] = None,
    fast: Annotated[bool, typer.Option("--fast", help="as fast as possible, no pacing")] = False,
    no_act: Annotated[bool, typer.Option("--no-act", help="detect and plan, execute nothing")] = False,
    json_out: JsonOpt = None,
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus /metrics on this port")] = None,
    policies: Annotated[Path | None, typer.Option(
        help="policy YAML file, or a directory of them, laid over the built-in policies")] = None,
    control: Annotated[bool, typer.Option(
        "--control", help="serve the control endpoint (loopback, token in STATE_DIR/control.json) "
                          "so `netloop approvals` can answer approval requests")] = False,
    audit: Annotated[Path | None, typer.Option(
        help="append decision records to this JSON Lines file (default: STATE_DIR/audit.jsonl)")] = None,
    record: Annotated[Path | None,
                      typer.Option(help="record topology and telemetry to FILE (.jsonl[.gz])")] = None,
    broker: Annotated[str | None,
                      typer.Option(help="run on Kafka at kafka://HOST:PORT instead of embedded")] = None,
    netmcp_http: Annotated[bool, typer.Option(
        "--netmcp-http", help="NetMCP management and tool servers on loopback HTTP, not in memory")] = False,
) -> None:
    """Run a scenario through the whole loop, with a live view in a terminal."""
    from streams.runtime.runner import is_terminal, run_scenario
    from streams.view import report_table

    sc = load_checked(scenario)
    settings = read_settings()
    if policies is not None:
        settings = settings.model_copy(update={"policies": policies})
    if broker is not None:
        report = _run_on_broker(sc, settings.model_copy(update={"broker": broker}),
                                speed=speed, act=not no_act, ticks=ticks)
        if json_out:
            write_json(json_out, report.model_dump(mode="json"))
        if json_out != "-":
            Console().print(report_table([report]))
        return
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
                                          live=live, metrics=metrics, record=record,
                                          netmcp_http=netmcp_http, control=control,
                                          audit=audit or settings.state_dir / "audit.jsonl"))
    except PolicyError as exc:
        raise fail(str(exc)) from None
    if json_out:
        write_json(json_out, report.model_dump(mode="json"))
    if json_out != "-":
        Console().print(report_table([report]))


@app.command(rich_help_panel=LOOP)
def evaluate(
    scenarios: Annotated[list[str] | None,
                         typer.Argument(help="names or paths; default: all built-in")] = None,
    json_out: JsonOpt = None,
    no_act: Annotated[bool, typer.Option("--no-act", help="detect and plan, execute nothing")] = False,
    nab: Annotated[Path | None, typer.Option(
        help="NAB data folder (<category>/<file>.csv: timestamp,value) instead of scenarios")] = None,
    labels: Annotated[Path | None, typer.Option(help="NAB combined_windows.json, with --nab")] = None,
    out: Annotated[Path | None, typer.Option(help="results folder in NAB's layout, with --nab")] = None,
    detector: Annotated[list[str] | None, typer.Option(
        help="with --nab: series detectors to run (netloop, holt, mad; default: netloop, the loop's set)")]
    = None,
    runs: Annotated[Path | None, typer.Option(
        help="folder of labelled multivariate runs (<run>.csv: time, sensors, anomaly[, changepoint])")]
    = None,
    train_rows: Annotated[int, typer.Option(min=0, help="with --runs: rows of each run left out of the "
                                                        "score (SKAB's leaderboard: 400)")] = 400,
    rca: Annotated[list[Path] | None, typer.Option(
        help="folder of root-cause cases: metrics.csv, truth.json, optional graph.json, meta.json "
             "(repeat for several sets)")] = None,
    folds: Annotated[int | None, typer.Option(
        min=2, help="with --rca: score each case with weights fitted without it (K contiguous folds per "
                    "set, fitted on all the sets given), instead of the shipped weights")] = None,
    leave_set_out: Annotated[bool, typer.Option(
        "--leave-set-out", help="with two or more --rca sets: score each set with weights fitted on the "
                                "others only")] = False,
) -> None:
    """Run scenarios fast, without the live view; one report row per scenario, plus totals.

    With --nab, --runs or --rca: evaluate on outside data instead (see the README).
    """
    from streams.runtime.runner import run_scenario
    from streams.view import report_table

    if nab or labels or out or detector or runs or rca or folds or leave_set_out:
        if no_act:
            raise fail("--no-act goes with scenarios: --nab, --runs and --rca run no loop and call no tool")
        if (folds or leave_set_out) and not rca:
            raise fail("--folds and --leave-set-out go with --rca")
        if folds and leave_set_out:
            raise fail("give --folds or --leave-set-out, not both")
        return _evaluate_external(scenarios, nab=nab, labels=labels, out=out, detectors=detector, runs=runs,
                                  train_rows=train_rows, rca=rca or [], folds=folds,
                                  leave_set_out=leave_set_out, json_out=json_out)
    loaded = [load_checked(s) for s in (scenarios or builtin_scenarios())]
    settings = read_settings()
    reports: list[RunReport] = []
    for sc in loaded:
        if json_out != "-":
            err.print(f"running {sc.name} ({sc.ticks} ticks)…", highlight=False)
        reports.append(asyncio.run(run_scenario(sc, settings, act=not no_act)))
    if json_out:
        write_json(json_out, [r.model_dump(mode="json") for r in reports])
    if json_out != "-":
        # wide enough for every column, even when the terminal (or a pipe's 80) is not: no "bu…" headers
        needed = 30 + 13 * (len(reports) + 1)
        Console(width=max(Console().width, needed)).print(report_table(reports))


def _evaluate_external(scenarios: list[str] | None, *, nab: Path | None, labels: Path | None,
                       out: Path | None, detectors: list[str] | None, runs: Path | None, train_rows: int,
                       rca: list[Path], folds: int | None, leave_set_out: bool, json_out: str | None) -> None:
    from rich.markup import escape

    from streams.cli.detection import check_detectors, evaluate_nab, evaluate_runs
    from streams.cli.rca import evaluate_rca
    from streams.evaluate.files import ExternalDataError

    if scenarios:
        raise fail("give scenarios, or --nab/--runs/--rca, not both")
    if (labels or out or detectors) and not nab:
        raise fail("--labels, --out and --detector go with --nab")
    if nab and not (labels and out):
        raise fail("--nab needs --labels LABELS.json and --out RESULTS_DIR")
    check_detectors(detectors)
    try:
        payload = {**(evaluate_nab(nab, labels, out, detectors, json_out) if nab and labels and out else {}),
                   **(evaluate_runs(runs, train_rows, json_out) if runs else {}),
                   **(evaluate_rca(rca, folds, leave_set_out, json_out) if rca else {})}
    except ExternalDataError as exc:
        raise fail(escape(str(exc))) from None
    if json_out:
        write_json(json_out, payload)


@app.command(rich_help_panel=LOOP)
def stitch(
    cases: Annotated[Path, typer.Argument(help="a root-cause case set in the --rca layout")],
    out: Annotated[Path, typer.Option(help="folder for metrics.csv, graph.json and labels.jsonl")],
) -> None:
    """Join a case set's windows back into one timeline with a labelled fault per case (for replay)."""
    from rich.markup import escape

    from streams.evaluate.files import ExternalDataError
    from streams.evaluate.stitch import stitch as join

    try:
        s = join(cases, out)
    except ExternalDataError as exc:
        raise fail(escape(str(exc))) from None
    typer.echo(f"{out}: {s.rows} rows × {s.columns} columns, {s.labels} labelled faults"
               + (f", {s.unlabelled} cases without anomaly_start left unlabelled" if s.unlabelled else "")
               + (f", {s.conflicts} values two cases disagreed on (the first kept)" if s.conflicts else ""))


@app.command("scenarios", rich_help_panel=LOOP)
def list_scenarios() -> None:
    """List the built-in scenarios."""
    for name in builtin_scenarios():
        sc = load_scenario(name)
        t = sc.topology
        typer.echo(f"{name:12s} {sc.ticks:6d} ticks  {t.sites} sites × {t.cells_per_site} cells  "
                   f"{len(sc.faults) + (sc.random_faults.count if sc.random_faults else 0)} faults")


@app.command(rich_help_panel=LOOP)
def episodes(
    out: Annotated[Path | None, typer.Option(help="JSON file (default: the package data the loop reads)")]
    = None,
    seed: Annotated[int, typer.Option(help="seed of the simulated network and its faults")] = 0,
    per_type: Annotated[int, typer.Option(min=1, help="faults of each type to simulate")] = 60,
    rca: Annotated[list[Path] | None, typer.Option(
        help="also refit the outside-data ranking on these labelled case sets (repeat the option; "
             "each set weighs the same)")] = None,
    ranking_out: Annotated[Path | None, typer.Option(
        help="JSON file for the ranking models (default: the package data the localizer reads)")] = None,
    world: Annotated[str, typer.Option(help="the simulated world: ideal (the shipped file's) or realistic")]
    = "ideal",
    typing_world: Annotated[str, typer.Option(
        help="the world the fault-type classifier learns in: realistic (the shipped file's) or ideal")]
    = "realistic",
) -> None:
    """Rebuild what the localizer learns, reproducibly from the seed: symptom profiles, the loop's ranking
    weights, the fault-type classifier and the confidence calibration from simulated episodes (seeds SEED to
    SEED+2 and SEED+4, scored on SEED+3 and SEED+5), and (with --rca) the outside-data ranking weights from
    labelled cases."""
    from detectors.learned import RANKING_FILE, learning_path
    from streams.evaluate.episodes import default_episodes_path, write_episodes

    for name, value in (("--world", world), ("--typing-world", typing_world)):
        if value not in ("ideal", "realistic"):
            raise fail(f"{name}: expected ideal or realistic, not {value!r}")
    path = out or default_episodes_path()
    ranking = ranking_out or (path.parent / RANKING_FILE if out else learning_path())
    learned = write_episodes(path, seed=seed, per_type=per_type, ranking=ranking, world=world,
                             typing_world=typing_world)
    held = learned.held_out
    typer.echo(f"{len(learned.classifier_y)} labelled episodes for the classifier ({2 * per_type} faults of "
               f"each type, seed {seed}) and {len(learned.calibration[0])} findings on pairs of faults for "
               f"the confidence calibration → {path}")
    typer.echo(f"symptom profiles and loop ranking weights → {ranking}; held out (seed {seed + 3}, "
               f"{held['faults']} faults): root top-1 {held['top1']:.3f}, top-3 {held['top3']:.3f}; "
               f"fault type ({typing_world} world, seeds {seed + 3} and {seed + 5}, "
               f"{held['typed_faults']} faults) {held['typed']:.3f}")
    if rca:
        from streams.cli.rca import refit_outside

        refit_outside(rca, ranking)


def _run_on_broker(sc: Scenario, settings: Settings, *, speed: float | None, act: bool,
                   ticks: int | None) -> RunReport:
    from streams.kafka.run import run_on_kafka
    from streams.kafka.topics import TopicError
    from streams.recording.kafka import BrokerError, bootstrap_servers

    try:
        bootstrap_servers(settings.broker)
        return asyncio.run(run_on_kafka(sc, settings, speed=speed or 50.0, act=act, ticks=ticks))
    except (BrokerError, PolicyError, TopicError) as exc:
        raise fail(str(exc)) from None


@app.command(rich_help_panel=LOOP)
def bench(
    sites: Annotated[int, typer.Option(min=1, help="sites in the end-to-end scenario")] = 1000,
    kafka: Annotated[bool, typer.Option("--kafka", help="also measure one faust worker on Kafka")] = False,
    broker: Annotated[str | None,
                      typer.Option(help="kafka://HOST:PORT for --kafka (default: a mock broker)")] = None,
    netmcp: Annotated[bool, typer.Option("--netmcp", help="also measure NetMCP tool calls over HTTP")]
    = False,
    localize: Annotated[bool, typer.Option(
        "--localize", help="also measure localization per tick: the large scenario and 100k cells (minutes)")]
    = False,
    soak: Annotated[float | None, typer.Option(min=0.1, help="instead: run the loop MINUTES under hostile "
                                                             "records, printing its memory")] = None,
    fuzz: Annotated[int | None, typer.Option(min=1, help="instead: mix N hostile records into smoke and "
                                                         "compare with the clean run")] = None,
) -> None:
    """Measure detector and end-to-end throughput, each beside a baseline from the same run."""
    from rich.table import Table

    if soak is not None or fuzz is not None:
        from streams.cli.hostile import bench_fuzz, bench_soak

        if fuzz is not None:
            bench_fuzz(fuzz)
        if soak is not None:
            bench_soak(soak)
        return

    from streams.bench.loop import detector_rates, end_to_end_rate

    rates = detector_rates()
    t = Table(title="netloop bench: detectors (3000 cells × 9 KPIs per step, one core)")
    t.add_column("path")
    t.add_column("KPI values/s", justify="right")
    t.add_column("× per-row", justify="right")
    t.add_column("default set ÷ this", justify="right")
    default = rates["default_detectors_batch"]
    for name, rate in rates.items():
        t.add_row(name, f"{rate:,.0f}", f"{rate / rates['default_detectors_per_row']:.1f}",
                  f"{default / rate:.2f}")
    Console().print(t)
    e2e, entities = end_to_end_rate(sites=sites)
    Console().print(f"end to end (embedded loop, {entities} entities): {e2e:,.0f} entity reports/s")
    if kafka:
        _bench_kafka(broker)
    if netmcp:
        _bench_netmcp()
    if localize:
        from streams.cli.rca import bench_localize

        bench_localize()


def _bench_netmcp() -> None:
    from rich.table import Table

    from streams.bench.netmcp import netmcp_call_rates

    stats = netmcp_call_rates()
    t = Table(title="netloop bench: tool calls over loopback HTTP (set_antenna_tilt)")
    for col in ("server", "p50 ms", "p99 ms", "calls/s (8 in flight)"):
        t.add_column(col, justify="right" if col != "server" else "left")
    for name, s in stats.items():
        t.add_row(name, f"{s.p50_ms:.2f}", f"{s.p99_ms:.2f}", f"{s.calls_per_s:,.0f}")
    Console().print(t)
    plain, net = stats["plain MCP"], stats["NetMCP"]
    Console().print(f"NetMCP interceptors: +{(net.p50_ms / plain.p50_ms - 1) * 100:.1f}% p50 latency, "
                    f"{(1 - net.calls_per_s / plain.calls_per_s) * 100:.1f}% fewer calls/s")


def _bench_kafka(broker: str | None) -> None:
    from contextlib import ExitStack

    from schemas import topics
    from streams.bench.kafka import BARE_TOPIC, bare_event_rate, detect_rate
    from streams.kafka.topics import partitions_of

    settings = read_settings()
    with ExitStack() as stack:
        if broker is None:
            from streams.kafka.mock_broker import mock_cluster

            cluster = stack.enter_context(mock_cluster())
            settings = settings.model_copy(update={"broker": cluster.url, "partitions": 8,
                                                   "fetch_max_wait_ms": 20})
            for t in (*topics.ALL_TOPICS, BARE_TOPIC):
                cluster.create_topic(t, 8 if t == BARE_TOPIC else partitions_of(t, settings))
        else:
            settings = settings.model_copy(update={"broker": broker})
        where = "librdkafka mock broker" if broker is None else broker
        bare = asyncio.run(bare_event_rate(settings))
        rate = asyncio.run(detect_rate(settings))
    Console().print(f"Kafka ({where}), one worker: detect {rate:,.0f} entity reports/s; a bare "
                    f"faust agent {bare:,.0f} events/s in the same run ({rate / bare:.0f}× — "
                    "frames pay the per-event cost once for 500 entities)")
