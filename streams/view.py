"""The live terminal view of a run, and the report table printed at its end."""

from __future__ import annotations

from statistics import median

from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from schemas import EntityKind, IncidentStatus, kpi_names
from streams.evaluate.report import RunReport
from streams.recording.replay import ReplayReport
from streams.runtime.embedded import LoopState

_HEADLINE = {
    EntityKind.CELL: ("throughput_mbps", "latency_ms", "packet_loss_ratio", "cqi",
                      "handover_success_ratio"),
    EntityKind.LINK: ("utilization_ratio", "latency_ms", "packet_loss_ratio"),
    EntityKind.UPF: ("cpu_utilization_ratio", "latency_ms", "error_rate_ratio"),
    EntityKind.SMF: ("cpu_utilization_ratio", "error_rate_ratio"),
    EntityKind.AMF: ("cpu_utilization_ratio", "error_rate_ratio"),
}
_STATUS_STYLE = {IncidentStatus.OPEN: "bold red", IncidentStatus.MITIGATING: "yellow",
                 IncidentStatus.RESOLVED: "green", IncidentStatus.ESCALATED: "bold magenta"}


def render(state: LoopState, *, wall_seconds: float) -> Group:
    """One frame of the live view."""
    net = state.network
    rate = state.entity_reports / wall_seconds if wall_seconds else 0.0
    hours = net.tick * net.scenario.tick_seconds / 3600 + 6.0
    head = (f"[bold]netloop[/] · scenario [cyan]{net.scenario.name}[/] · tick {net.tick}/"
            f"{net.scenario.ticks} · sim time {int(hours % 24):02d}:{int(hours * 60 % 60):02d} · "
            f"{rate:,.0f} entity reports/s · {state.recorder.open_count()} open incident(s) · "
            f"{state.recorder.dead_letter_count} dead letter(s)")
    return Group(Panel(head), _kpis(state), _faults(state), _incidents(state), _log(state))


def _kpis(state: LoopState) -> Table:
    t = Table(title="Network KPIs (mean over entities of a kind)", expand=True)
    t.add_column("kind")
    t.add_column("KPIs")
    latest = state.network.latest
    for kind, names in _HEADLINE.items():
        if kind not in latest:
            continue
        cols = kpi_names(kind)
        means = latest[kind].mean(axis=0)
        t.add_row(kind.value, "  ".join(f"{n}={means[cols.index(n)]:.3g}" for n in names))
    return t


def _faults(state: LoopState) -> Table:
    t = Table(title="Faults injected (ground truth)", expand=True)
    for c in ("fault", "type", "root", "start", "state"):
        t.add_column(c)
    for f in state.network.truth[-6:]:
        if f.end is None:
            st = "[bold red]active[/]"
        elif f.ended_by == "action":
            st = f"[green]fixed by the loop at {f.end}[/]"
        else:
            st = f"ended by itself at {f.end}"
        t.add_row(f.fault_id, f.type, f.root, str(f.start), st)
    return t


def _incidents(state: LoopState) -> Table:
    t = Table(title="Incidents", expand=True)
    for c in ("incident", "status", "fault type", "root-cause candidates", "conf", "opened", "why"):
        t.add_column(c, overflow="fold")
    for iid in list(state.recorder.incidents)[-6:]:
        inc = state.recorder.latest(iid)
        cands = ", ".join(c.entity_id for c in inc.candidates[:3])
        status = f"[{_STATUS_STYLE[inc.status]}]{inc.status.value}[/]"
        t.add_row(iid, status, inc.fault_type or "?", cands, f"{inc.confidence:.2f}",
                  str(inc.opened_tick), inc.reason[:60])
    return t


def _log(state: LoopState, lines: int = 10) -> Panel:
    """The loop's story in order: faults injected, decisions, tool calls, outcomes."""
    events: list[tuple[int, int, str]] = []
    for f in state.network.truth:
        events.append((f.start, 0, f"[red]fault[/]    {f.fault_id} {f.type} starts on {f.root}"))
    for inc_id, history in state.recorder.incidents.items():
        inc = history[0]
        cands = ", ".join(c.entity_id for c in inc.candidates[:3])
        events.append((inc.opened_tick, 1, f"[yellow]incident[/] {inc_id} opened: {inc.fault_type}, "
                                           f"candidates {cands} (conf {inc.confidence:.2f})"))
    for d in state.recorder.decisions:
        events.append((d.tick, 2, f"[cyan]{d.decision.value:8s}[/] {d.incident_id}: {d.explanation}"))
    for r in state.recorder.results:
        verdict = "[green]ok[/]" if r.ok else f"[red]failed: {r.detail}[/]"
        events.append((r.tick, 3, f"[blue]mcp[/]      tools/call {r.tool}({r.target}) → {verdict}"))
    recent = sorted(events)[-lines:]
    body = "\n".join(f"{t:5d}  {text}" for t, _, text in recent) or "waiting for the first fault…"
    return Panel(body, title="Loop log (tick)", title_align="left")


_ROWS = (
    ("faults injected", "faults_injected"), ("detected", "faults_detected"),
    ("localized top-1", "faults_localized_top1"), ("localized top-3", "faults_localized_top3"),
    ("fault type correct", "fault_type_correct"), ("auto-remediated", "faults_auto_remediated"),
    ("escalated", "faults_escalated"), ("incidents opened", "incidents_opened"),
    ("false incidents", "false_incidents"), ("actions executed", "actions_executed"),
    ("false actions", "false_actions"), ("dead letters", "dead_letters"),
    ("approvals requested", "approvals_requested"), ("approvals granted", "approvals_granted"),
    ("approvals denied", "approvals_denied"), ("rollbacks", "rollbacks"), ("twin vetoes", "twin_vetoes"),
    ("twin predictions", "twin_predictions"), ("twin correct", "twin_correct"),
    ("benign events", "benign_events"), ("actions on benign", "actions_on_benign"),
    ("faults unfixable", "faults_unfixable"), ("escalated correctly", "faults_escalated_correctly"),
)
_MEANS = (("MTTD (ticks)", "mttd_ticks"), ("MTTR (ticks)", "mttr_ticks"),
          ("MTTR without loop (ticks)", "mttr_ticks_without_loop"))


def report_table(reports: list[RunReport]) -> Table:
    """Metrics as rows, one column per run, and a total column when there are several."""
    t = Table(title="netloop run report")
    t.add_column("")
    for r in reports:
        t.add_column(r.scenario, justify="right")
    total = len(reports) > 1
    if total:
        t.add_column("total", justify="right", style="bold")
    for label, field in _ROWS:
        values = [getattr(r, field) for r in reports]
        t.add_row(label, *map(str, values), *([str(sum(values))] if total else []))
    for label, field in _MEANS:
        values = [getattr(r, field) for r in reports]
        t.add_row(label, *(_num(v) for v in values), *([_num(_mean(values))] if total else []))
    delays = [_delays(r) for r in reports]
    t.add_row("MTTD median (ticks)", *(_num(_median(d)) for d in delays),
              *([_num(_median([x for d in delays for x in d]))] if total else []))
    t.add_row("false incidents (%)", *(_share(r.false_incidents, r.incidents_opened) for r in reports),
              *([_share(sum(r.false_incidents for r in reports), sum(r.incidents_opened for r in reports))]
                if total else []))
    t.add_row("wall seconds", *(f"{r.wall_seconds:.1f}" for r in reports),
              *([f"{sum(r.wall_seconds for r in reports):.1f}"] if total else []))
    return t


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def _delays(r: RunReport) -> list[int]:
    """Ticks from start to detection of each detected fault of a run."""
    return [f.detected_tick - f.start for f in r.faults if f.detected_tick is not None]


def _median(xs: list[int]) -> float | None:
    return float(median(xs)) if xs else None


def _share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}" if whole else "-"


def _mean(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return round(sum(vals) / len(vals), 2) if vals else None


def replay_table(report: ReplayReport) -> Group:
    """What a dry run found: incidents, and the actions it would have taken."""
    head = (f"replayed {report.records} records ({report.telemetry_records} telemetry, "
            f"{report.ticks} ticks, {report.entity_reports} entity reports) in "
            f"{report.wall_seconds:.1f}s; {report.dead_letters} dead letter(s)")
    inc = Table(title="Incidents the loop would have opened", expand=True)
    for c in ("incident", "opened", "fault type", "candidates", "conf", "final status"):
        inc.add_column(c, overflow="fold")
    for i in report.incidents:
        inc.add_row(i.incident_id, str(i.opened_tick), i.fault_type or "?", ", ".join(i.candidates),
                    f"{i.confidence:.2f}", i.final_status)
    plan = Table(title="What it would have done (nothing was executed)", expand=True)
    for c in ("tick", "incident", "decision", "explanation"):
        plan.add_column(c, overflow="fold")
    for p in report.planned:
        plan.add_row(str(p.tick), p.incident_id, p.decision, p.explanation)
    return Group(Panel(head), inc, plan)
