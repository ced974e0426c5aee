"""The whole loop in one process, end to end through the MCP protocol."""

import asyncio
import json

import pytest
from prometheus_client import CollectorRegistry

from netmcp import ACTUATOR
from schemas import DeadLetter, TelemetryFrame, kpi_names, topics
from simulator import load_scenario
from streams.evaluate.report import build_report
from streams.metrics import LoopMetrics
from streams.runtime.embedded import EmbeddedLoop
from streams.settings import Settings


def _run(scenario, *, act=True, metrics=None):
    async def go():
        loop = EmbeddedLoop(scenario, Settings(), act=act, metrics=metrics)
        state = await loop.run()
        return loop, state

    _, state = asyncio.run(go())
    return state, build_report(state.network, state.recorder, wall_seconds=1.0,
                               entity_reports=state.entity_reports)


@pytest.fixture(scope="module")
def smoke_run():
    registry = CollectorRegistry()
    state, report = _run(load_scenario("smoke").idealized(), metrics=LoopMetrics(registry))
    return state, report, registry


def test_smoke_faults_are_detected_localized_and_remediated_through_mcp(smoke_run):
    state, report, _ = smoke_run
    assert report.faults_injected == 3
    for fault in report.faults:
        assert fault.incident_id is not None, fault
        assert fault.top1, fault
        assert fault.fault_type_correct, fault
        assert fault.ended_by == "action", fault
    assert report.faults_auto_remediated == 3
    # 28 entities × 9 KPIs × 420 ticks at the alarm level 1e-4: noise opens one incident at most, and
    # nothing is done about it (the twin sees nothing to fix)
    assert report.false_incidents <= 1 and report.false_actions == 0
    assert report.mttr_ticks < report.mttr_ticks_without_loop
    assert len(state.network.actions) == report.actions_executed
    # and the reroute is reverted once its link has stayed healthy (wait-to-restore): one call more
    reverts = [a for a in state.recorder.actions if a.rollback]
    assert [(a.tool, a.target) for a in reverts] == [("rollback_change", "link-0003")]
    assert state.executor.calls == report.actions_executed + len(reverts)


def test_the_actuator_discovers_each_tool_gets_a_token_and_calls_through_the_verifying_server(smoke_run):
    state, _, _ = smoke_run
    caller = state.netmcp.caller
    assert [tool for tool, _ in caller.routed] == [a.tool for a in state.recorder.actions]
    records = [r for audit in state.netmcp.audits.values() for r in audit if r.action_id is not None]
    assert len(records) == len(state.recorder.actions)
    assert {(r.client_id, r.outcome) for r in records} == {(ACTUATOR, "ok")}
    # each call carries the execution context of its incident's workflow
    assert {r.context_id.split("/")[0] for r in records} == {a.incident_id for a in state.recorder.actions}


def test_every_executed_action_has_a_decision_with_an_explanation(smoke_run):
    state, _, _ = smoke_run
    acted = {d.incident_id for d in state.recorder.decisions if d.decision == "act"}
    assert acted == {a.incident_id for a in state.recorder.actions} and len(acted) == 3
    assert all(d.explanation for d in state.recorder.decisions)
    resolved = {d.incident_id for d in state.recorder.decisions if d.decision == "resolve"}
    assert acted <= resolved  # every action worked (a noise incident resolves without one)


def test_stage_metrics_are_counted_on_the_injected_registry(smoke_run):
    state, report, registry = smoke_run
    rows = registry.get_sample_value("netloop_detect_entity_reports_total")
    assert rows == state.entity_reports == report.ticks * report.entities
    assert registry.get_sample_value("netloop_actions_total", {"outcome": "ok"}) == 3 + 1  # and a revert
    assert registry.get_sample_value("netloop_stage_records_in_total", {"stage": "decide"}) > 0
    resolved = {d.incident_id for d in state.recorder.decisions if d.decision == "resolve"}
    assert registry.get_sample_value("netloop_incident_repair_ticks_count") == len(resolved) >= 3
    assert registry.get_sample_value("netloop_incidents_open") == 0
    # incidents are written on tick close, and count as the localize stage's output
    assert registry.get_sample_value("netloop_stage_records_out_total", {"stage": "localize"}) >= 3


def test_no_act_plans_but_never_calls_a_tool():
    state, report = _run(load_scenario("smoke").idealized(), act=False)
    assert report.faults_detected == 3
    assert report.actions_executed == 0 and state.executor.calls == 0
    assert state.network.actions == []
    assert any(d.decision == "hold" for d in state.recorder.decisions)
    assert report.mttr_ticks == report.mttr_ticks_without_loop


def test_the_same_seed_gives_the_same_report():
    sc = load_scenario("smoke").idealized()
    a = _run(sc)[1].model_dump(exclude={"wall_seconds", "entity_reports_per_second"})
    b = _run(sc)[1].model_dump(exclude={"wall_seconds", "entity_reports_per_second"})
    assert a == b


def _frame(**overrides) -> bytes:
    names = list(kpi_names("link"))
    body = {"schema_version": 1, "shard": "x", "tick": 0, "timestamp_s": 0.0, "kind": "link",
            "entity_ids": ["link-0001"], "kpis": names, "values": [[0.5, 2.0, 0.001]]}
    body.update(overrides)
    return json.dumps(body).encode()


@pytest.mark.parametrize(("raw", "reason"), [
    (b"{not json", "not JSON"),
    (_frame(values=[[0.5, 2.0]]), "row 0 has 2 columns"),
    (_frame(values=[[0.5, float("nan"), 0.001]]), "NaN"),
    (_frame(kpis=["utilization_ratio", "latency_ms", "jitter_ms"]), "unknown KPIs"),
    (b'{"entity_id": "cell-0001-1", "tick": 1, "timestamp_s": 0, "kpis": {"cqi": 3}}',
     "missing KPIs"),
])
def test_malformed_telemetry_goes_to_the_dead_letter_topic_and_the_loop_goes_on(raw, reason):
    async def go_and_continue():
        loop = EmbeddedLoop(load_scenario("smoke").idealized(), Settings())
        seen = {}

        async def hook(state):
            if state.network.tick == 2:
                await loop.inject(topics.TELEMETRY, "bad", raw)
            seen["ticks"] = state.network.tick

        state = await loop.run(ticks=5, on_tick=hook)
        return state, seen

    state, seen = asyncio.run(go_and_continue())
    assert seen["ticks"] == 5  # the loop kept going after the bad record
    [letter] = state.recorder.dead_letters
    assert isinstance(letter, DeadLetter)
    assert reason in letter.reason
    assert letter.source_topic == topics.TELEMETRY and letter.stage == "detect"
    assert letter.raw == raw
    assert state.entity_reports == 5 * 28  # every good frame was still scored


def test_a_per_entity_report_is_accepted_as_telemetry():
    report = {"entity_id": "link-0001", "tick": 1, "timestamp_s": 60.0,
              "kpis": {"latency_ms": 2.0, "utilization_ratio": 0.4, "packet_loss_ratio": 0.0}}

    async def go():
        loop = EmbeddedLoop(load_scenario("smoke").idealized(), Settings())

        async def hook(state):
            await loop.inject(topics.TELEMETRY, "link-0001", json.dumps(report).encode())

        return await loop.run(ticks=1, on_tick=hook)

    state = asyncio.run(go())
    assert not state.recorder.dead_letters and state.recorder.dead_letter_count == 0
    assert state.entity_reports == 28 + 1


def test_telemetry_frames_round_trip_through_json():
    frame = TelemetryFrame(shard="s", tick=3, timestamp_s=180.0, kind="link",
                           entity_ids=["link-0001"], kpis=list(kpi_names("link")),
                           values=[[0.5, 2.0, 0.001]])
    assert TelemetryFrame.decode(frame.encode()) == frame


def test_metrics_are_served_in_the_prometheus_text_format(smoke_run):
    import urllib.request

    from prometheus_client import start_http_server

    _, _, registry = smoke_run
    httpd, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        url = f"http://127.0.0.1:{httpd.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as resp:
            text = resp.read().decode()
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
    assert 'netloop_stage_records_in_total{stage="detect"}' in text
    assert "netloop_stage_processing_seconds_bucket" in text


def test_a_flood_of_bad_records_is_counted_in_full_but_only_the_latest_are_kept():
    async def go():
        loop = EmbeddedLoop(load_scenario("smoke").idealized(), Settings())

        async def hook(state):
            for i in range(1200):
                await loop.inject(topics.TELEMETRY, "bad", b"garbage %d" % i)

        return await loop.run(ticks=1, on_tick=hook)

    state = asyncio.run(go())
    assert state.recorder.dead_letter_count == 1200
    assert len(state.recorder.dead_letters) == 1000
    assert state.recorder.dead_letters[-1].raw == b"garbage 1199"
