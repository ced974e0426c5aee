"""The honest twin: built from what the network publishes, blind to its internals, checked after."""

from __future__ import annotations

import asyncio

import pytest

from actuators import TelemetryTwin, effect_model
from actuators.effects import parse_effects
from actuators.policy import PolicyError
from schemas import Candidate, Evidence, Incident, IncidentStatus, ToolCall, kind_of, topics
from simulator import CATALOGUE, Network, load_scenario, parse_scenario
from streams.evaluate.report import build_report
from streams.runtime.embedded import EmbeddedLoop
from streams.settings import Settings

SCENARIO = """
name: twin
seed: 21
ticks: 300
warmup_ticks: 20
topology: {sites: 4, cells_per_site: 3, upf: 2, smf: 1, amf: 1}
realism: {onset: [step], signature_jitter: 0.2}
telemetry: {loss: 0, late: 0, duplicate: 0, counter_reset: 0}
"""
AT = 40
ARG = {"cell": "cell_id", "link": "link_id", "upf": "upf_id", "smf": "smf_id", "amf": "amf_id"}


def network(faults: str) -> Network:
    return Network.from_scenario(parse_scenario(SCENARIO + faults))


def fed(net: Network, until: int, twin: TelemetryTwin | None = None) -> tuple[TelemetryTwin, list[bytes]]:
    """A twin fed the network's published topology and every frame up to ``until``, as the bus would."""
    twin = twin or TelemetryTwin()
    for rec in net.topology_records():
        twin.inventory.add(rec)
    frames = []
    while net.tick <= until:
        for f in net.step():
            frames.append(f.encode())
            twin.observe_frame(frames[-1])
    return twin, frames


def incident(root: str, fault_type: str, *, tick: int = AT + 3, confidence: float = 0.9) -> Incident:
    cand = Candidate(entity_id=root, score=1.0, fault_type=fault_type, explained=1)
    return Incident(
        incident_id=f"INC-{root}",
        status=IncidentStatus.OPEN,
        opened_tick=tick,
        tick=tick,
        fault_type=fault_type,
        confidence=confidence,
        candidates=[cand],
        symptoms=[root],
    )


def call(tool: str, target: str) -> ToolCall:
    return ToolCall(tool=tool, target=target, arguments={ARG[kind_of(target).value]: target})


OUTAGE = f"faults: [{{type: cell_outage, target: cell-0002-1, at: {AT}}}]\n"


def test_the_twin_predicts_the_same_whether_the_real_fault_is_in_the_simulated_network_or_not():
    faulty = network(OUTAGE)
    twin_a, frames = fed(faulty, AT + 3)
    healthy = network("faults: []\n")  # the same seed and topology, and no fault at all
    twin_b = TelemetryTwin()
    for rec in healthy.topology_records():
        twin_b.inventory.add(rec)
    for raw in frames:  # the same telemetry history
        twin_b.observe_frame(raw)
    ask = (call("restart_cell", "cell-0002-1"), incident("cell-0002-1", "cell_outage"))
    a = twin_a.predict(ask[0], incident=ask[1], horizon=10)
    b = twin_b.predict(ask[0], incident=ask[1], horizon=10)
    assert a == b and a.degraded and a.improves
    faulty.apply("restart_cell", "cell-0002-1")  # the fault gone from the network: the twin cannot know
    assert twin_a.predict(ask[0], incident=ask[1], horizon=10) == a


def test_restarting_the_cell_that_is_down_helps_and_a_healthy_cell_has_nothing_to_fix():
    twin, _ = fed(network(OUTAGE), AT + 3)
    right = twin.predict(
        call("restart_cell", "cell-0002-1"), incident=incident("cell-0002-1", "cell_outage"), horizon=10
    )
    assert right.degraded and right.p_improves > 0.6 and right.improvement > 0
    healthy = twin.predict(
        call("restart_cell", "cell-0003-1"), incident=incident("cell-0003-1", "cell_outage"), horizon=10
    )
    assert not healthy.degraded and healthy.p_improves < 0.2


def test_a_diagnosis_the_tool_is_not_the_remedy_for_gets_no_chance_of_helping():
    twin, _ = fed(network(OUTAGE), AT + 3)
    pred = twin.predict(
        call("retune_frequency", "cell-0002-1"), incident=incident("cell-0002-1", "cell_outage"), horizon=10
    )
    assert pred.p_right == 0.0 and pred.p_improves == 0.0


def test_a_weakly_believed_diagnosis_has_a_lower_chance_of_helping():
    twin, _ = fed(network(OUTAGE), AT + 3)
    ask = call("restart_cell", "cell-0002-1")
    strong = twin.predict(ask, incident=incident("cell-0002-1", "cell_outage", confidence=0.95), horizon=10)
    weak = twin.predict(ask, incident=incident("cell-0002-1", "cell_outage", confidence=0.2), horizon=10)
    assert weak.p_improves < 0.3 < 0.6 < strong.p_improves


def test_the_offload_ratio_the_twin_picks_from_the_telemetry_is_enough_for_the_excess_load():
    for severity in (0.4, 0.7, 1.0):
        net = network(
            f"faults: [{{type: cell_congestion, target: cell-0002-1, at: {AT}, severity: {severity}}}]\n"
        )
        twin, _ = fed(net, AT + 4)
        pred = twin.predict(
            call("enable_load_balancing", "cell-0002-1"),
            incident=incident("cell-0002-1", "cell_congestion"),
            horizon=10,
        )
        assert (
            pred.settled and pred.parameters["offload_ratio"] >= net._active[0].episode.need
        )  # scorer's view
        assert net.apply("enable_load_balancing", "cell-0002-1", pred.parameters).fixed == ("F001",)


def test_an_executed_prediction_is_checked_against_the_telemetry_at_the_end_of_its_horizon():
    net = network(OUTAGE)
    twin, _ = fed(net, AT + 3)
    ask, inc = call("restart_cell", "cell-0002-1"), incident("cell-0002-1", "cell_outage")
    pred = twin.predict(ask, incident=inc, horizon=10)
    twin.acted("INC-cell-0002-1/0", ask, pred, tick=net.tick - 1)
    net.apply("restart_cell", "cell-0002-1")
    checks = []
    while not checks:
        fed(net, net.tick, twin)
        checks = twin.on_tick(net.tick - 1)
    [check] = checks
    assert check.tool == "restart_cell" and check.came_true and check.actual < check.now


def test_the_effect_model_documents_every_remediation_tool_of_the_catalogue():
    model = effect_model()
    for fault in CATALOGUE:
        assert fault.name in model[fault.remediation].fixes


def test_a_bad_effect_model_is_refused_naming_the_field():
    with pytest.raises(PolicyError, match=r"tools\.restart_cell\.delay_ticks"):
        parse_effects(
            "tools:\n  restart_cell: {fixes: [cell_outage], restores: {root: all}, delay_ticks: [3, 1]}\n",
            "mine.yaml",
        )


def test_a_dry_run_of_a_recording_asks_the_twin_the_same_questions_and_gets_the_same_answers(tmp_path):
    """No network at all in the replay: every prediction the live loop made, the replay makes alike.
    (Telemetry is perfect here: a late frame of the current tick cannot be told from a punctual one
    in a recording, so a replay may see it a tick early.)"""
    from simulator import PERFECT_TELEMETRY, load_scenario
    from streams.recording.files import read_recording, recording_writer
    from streams.recording.recorder import Recorder
    from streams.recording.replay import replay_dry_run
    from streams.recording.taps import RecordingTap
    from streams.runtime.embedded import EmbeddedLoop
    from streams.settings import Settings

    path = tmp_path / "smoke.jsonl"

    async def live():
        with recording_writer(path) as f:
            scenario = load_scenario("smoke").model_copy(update={"telemetry": PERFECT_TELEMETRY})
            loop = EmbeddedLoop(scenario, Settings(), act=False)
            loop.taps.append(RecordingTap(f, clock=lambda: loop.network.tick * 60_000))
            return await loop.run()

    state = asyncio.run(live())
    asked = [(d.incident_id, d.tick, d.twin) for d in state.recorder.decisions if d.twin is not None]
    again = Recorder()
    asyncio.run(replay_dry_run(read_recording(path), Settings(), recorder=again))
    assert asked and [(d.incident_id, d.tick, d.twin) for d in again.decisions if d.twin is not None] == asked


# --- hostile telemetry ------------------------------------------------------------------------------

_FRAME = (b'{"schema_version":1,"shard":"%s","tick":%d,"timestamp_s":0,"kind":"link",'
          b'"entity_ids":["%s"],"kpis":["utilization_ratio","latency_ms","packet_loss_ratio"],'
          b'"values":[[0.5,%d.0,0.001]]}')


def test_a_frame_forged_far_ahead_neither_blinds_the_twins_history_nor_stays_in_it() -> None:
    twin = TelemetryTwin(history_ticks=4)
    for t in range(12):
        if t == 6:  # one frame each for a fake shard and a real one, ticks no loop will reach
            twin.observe_frame(_FRAME % (b"fake", 2**60, b"link-9", 0))
            twin.observe_frame(_FRAME % (b"s1", 10**12, b"link-1", 0))
        twin.observe_frame(_FRAME % (b"s1", t, b"link-1", t))
        twin.on_tick(t)
    ticks, values = twin.history.series(["link-1"])["link-1"]
    assert ticks.tolist() == [8, 9, 10, 11] and values[:, 1].tolist() == [8.0, 9.0, 10.0, 11.0]
    assert twin.history.series(["link-9"]) == {}


def test_the_twins_history_drops_the_shards_it_no_longer_hears_and_holds_a_bounded_number() -> None:
    twin = TelemetryTwin(history_ticks=4)
    twin.history.max_shards = 50
    for t in range(20):
        for n in range(10):  # ten new fake shards a tick, each heard once
            twin.observe_frame(_FRAME % (b"fake-%d-%d" % (t, n), t, b"link-fake-%d" % n, t))
        twin.observe_frame(_FRAME % (b"s1", t, b"link-1", t))
        twin.on_tick(t)
        assert len(twin.history) <= 50
    held = {shard for shard, _ in twin.history.shards()}
    assert "s1" in held and {s.split("-")[1] for s in held - {"s1"}} == {"16", "17", "18", "19"}
    assert "link-1" in twin.history.series(["link-1"])  # the real shard's frames are all there


def test_a_frame_another_producer_wrote_with_other_spacing_or_field_order_is_read_like_the_loops_own(
) -> None:
    import json

    ours = json.loads(_FRAME % (b"s1", 0, b"link-1", 7))
    spaced = json.dumps(ours).encode()  # Python's json.dumps puts a space after every : and ,
    reordered = json.dumps(dict(reversed(ours.items())), separators=(",", ":")).encode()
    for raw in (spaced, reordered):
        twin = TelemetryTwin(history_ticks=4)
        twin.observe_frame(raw)
        twin.on_tick(0)
        ticks, values = twin.history.series(["link-1"])["link-1"]
        assert ticks.tolist() == [0] and values[0, 1] == 7.0


def test_a_frame_with_a_row_more_than_its_entities_is_not_read_and_the_others_still_are() -> None:
    twin = TelemetryTwin(history_ticks=4)
    for t in range(4):
        raw = _FRAME % (b"s1", t, b"link-1", t)
        if t == 2:  # detect refuses it (extra_row); the twin stacked it with the others and failed
            raw = raw.replace(b"]]}", b"],[0.5,2.0,0.001]]}")
        twin.observe_frame(raw)
        twin.on_tick(t)
    ticks, _ = twin.history.series(["link-1"])["link-1"]
    assert ticks.tolist() == [0, 1, 3]


def test_a_copy_of_a_frame_sent_after_it_changes_nothing_and_a_value_no_detector_takes_is_not_read() -> None:
    twin = TelemetryTwin(history_ticks=4)
    for t in range(4):
        twin.observe_frame(_FRAME % (b"s1", t, b"link-1", t))
        twin.observe_frame((_FRAME % (b"s1", t, b"link-1", t)).replace(b"0.5,", b"1e300,"))  # a copy
        twin.observe_frame(_FRAME % (b"s2", t, b"link-2", t) if t != 2 else
                           (_FRAME % (b"s2", t, b"link-2", t)).replace(b"0.5,", b"1e39,"))
        twin.on_tick(t)
    series = twin.history.series(["link-1", "link-2"])
    assert series["link-1"][0].tolist() == [0, 1, 2, 3] and (series["link-1"][1][:, 0] == 0.5).all()
    assert series["link-2"][0].tolist() == [0, 1, 3]


def test_one_forged_far_ahead_frame_leaves_every_fault_of_smoke_remediated() -> None:
    forged = _FRAME % (b"fake", 2**60, b"link-fake", 0)  # detect refuses it; decide's twin read it raw

    async def go():
        loop = EmbeddedLoop(load_scenario("smoke"), Settings())

        async def hook(state):
            if state.network.tick == 50:
                await loop.inject(topics.TELEMETRY, "fake", forged)

        return await loop.run(on_tick=hook)

    state = asyncio.run(go())
    report = build_report(state.network, state.recorder, wall_seconds=1.0, entity_reports=0)
    assert report.faults_auto_remediated == 3  # it was 0: the twin saw no telemetry, so nothing to fix
def test_a_fault_older_than_the_telemetry_held_is_judged_against_the_baselines_its_evidence_names():
    twin, _ = fed(network(OUTAGE), AT + 80)  # the 32 ticks held, and any snapshot, are all dark
    tool = call("restart_cell", "cell-0002-1")
    bare = incident("cell-0002-1", "cell_outage", tick=AT + 80)
    assert not twin.predict(tool, incident=bare, horizon=10).degraded
    healthy = {"prb_utilization_ratio": 0.4, "throughput_mbps": 100.0, "active_users": 100.0, "cqi": 11.0}
    told = [Evidence(entity_id="cell-0002-1", kpi=k, tick=AT, value=0.0, expected=v, score=9.0)
            for k, v in healthy.items()]
    cand = bare.candidates[0].model_copy(update={"evidence": told})
    pred = twin.predict(tool, incident=bare.model_copy(update={"candidates": [cand]}), horizon=10)
    assert pred.degraded and pred.p_improves > 0.5
