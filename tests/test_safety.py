"""Acting safely: rollback on a failed verification, the twin's veto, and each guard.

The rollback test runs the decide, act and verify stages on the embedded bus
against the simulated network through NetMCP (in memory). It stands in for the
detector with the simulator's ground truth: a symptom anomaly every tick the
fault is active, none after.
"""

from __future__ import annotations

import asyncio

import pytest

from actuators import Decider, Executor, GuardConfig, Guards, PolicyTable, Verifier
from schemas import (
    ActionRequest,
    AnomalyEvent,
    Candidate,
    DecisionKind,
    Incident,
    IncidentStatus,
    ToolCall,
    TwinPrediction,
    topics,
)
from simulator import Network, parse_scenario
from streams.metrics import LoopMetrics
from streams.recording.recorder import Recorder
from streams.runtime.bus import EmbeddedBus
from streams.runtime.embedded import workflow_engine
from streams.runtime.pipeline import Pipeline
from streams.runtime.stages import ActStage, DecideStage, VerifyStage
from streams.tools.runtime import NetMcpRuntime

SCENARIO = """
name: ambiguous
seed: 3
ticks: 200
tick_seconds: 60
warmup_ticks: 10
topology: {sites: 6, cells_per_site: 3, upf: 2, smf: 1, amf: 1}
realism: ideal
faults:
  - {type: link_degradation, target: link-0003, at: 10, severity: 0.8}
"""
SYMPTOM = "cell-0003-1"  # behind link-0003


def incident(*candidates: tuple[str, str], tick: int, confidence: float = 0.9,
             symptoms: tuple[str, ...] = (SYMPTOM,), iid: str = "INC-1") -> Incident:
    cands = [Candidate(entity_id=e, score=1.0, fault_type=f, explained=1) for e, f in candidates]
    return Incident(incident_id=iid, status=IncidentStatus.OPEN, opened_tick=tick, tick=tick,
                    fault_type=cands[0].fault_type, confidence=confidence, candidates=cands,
                    symptoms=list(symptoms))


async def _ambiguous_run() -> tuple[Network, Recorder]:
    network = Network.from_scenario(parse_scenario(SCENARIO))
    for _ in range(12):
        network.step()
    policies = PolicyTable.default()
    async with NetMcpRuntime(network) as rt:
        assert rt.caller is not None
        recorder = Recorder()
        stages = [DecideStage(Decider(policies)),
                  ActStage(workflow_engine(Executor(caller=rt.caller), policies)),
                  VerifyStage(Verifier(recovery_ticks=3, verify_ticks=5, max_attempts=2)), recorder]
        bus = EmbeddedBus()
        async with Pipeline(stages, bus=bus, metrics=LoopMetrics()) as pipeline:
            # two plausible roots; the localizer ranked the wrong link first
            inc = incident(("link-0002", "link_degradation"), ("link-0003", "link_degradation"), tick=11)
            await pipeline.feed(topics.INCIDENTS, inc.incident_id, inc.encode())
            while network.tick < 60 and recorder.open_count():
                tick = network.tick
                network.step()
                if network.active_faults():
                    event = AnomalyEvent(entity_id=SYMPTOM, kpi="latency_ms", tick=tick, value=40.0,
                                         expected=12.0, score=9.0, detector="truth")
                    await pipeline.feed(topics.ANOMALIES, SYMPTOM, event.encode())
                await pipeline.close_tick(tick)
    return network, recorder


@pytest.fixture(scope="module")
def ambiguous():
    return asyncio.run(_ambiguous_run())


def test_a_wrong_first_try_is_rolled_back_and_the_second_candidate_fixes_the_fault(ambiguous):
    network, recorder = ambiguous
    assert [(tool, target, bool(fixed)) for _, tool, target, fixed in network.actions] == [
        ("reroute_link", "link-0002", False), ("reroute_link", "link-0003", True)]
    [(rolled_at, target, undone)] = network.rollbacks
    assert (target, undone) == ("link-0002", "reroute_link")
    assert rolled_at == network.actions[1][0]  # undone in the tick of the second try, before it:
    assert [r.action_id for r in recorder.results] == ["INC-1/0", "INC-1/0#rollback", "INC-1/1"]
    assert network.changes() == [] and network.active_faults() == []
    assert recorder.latest("INC-1").status is IncidentStatus.RESOLVED


def test_the_rollback_and_the_resolution_are_decision_records_with_explanations(ambiguous):
    _, recorder = ambiguous
    kinds = [d.decision for d in recorder.decisions]
    assert kinds == [DecisionKind.ACT, DecisionKind.ROLLBACK, DecisionKind.ACT, DecisionKind.RESOLVE]
    rollback = recorder.decisions[1]
    assert "link-0002" in rollback.explanation and "rollback_change" in rollback.explanation
    assert all(d.explanation for d in recorder.decisions)
    [undo] = [r for r in recorder.results if r.rolled_back]
    assert undo.ok and undo.action_id == "INC-1/0#rollback"


# --- the twin's uncertainty decides: act, ask a person, veto, or hold ------------------------------

class ScriptedTwin:
    """A twin that answers with a chance of helping per target (the real one is in test_twin.py)."""

    def __init__(self, chance: dict[str, float], *, degraded: bool = True) -> None:
        self.chance, self.degraded, self.asked = chance, degraded, []

    def predict(self, call: ToolCall, *, incident: Incident, horizon: int) -> TwinPrediction:
        self.asked.append(call)
        p = self.chance[call.target]
        return TwinPrediction(horizon_ticks=horizon, watched=1, badness_without=10.0,
                              badness_with=10.0 - 8 * p,
                              improvement=8 * p, improves=p >= 0.5, p_improves=p, degraded=self.degraded,
                              parameters={"max_utilization_ratio": 0.9})


def test_an_action_the_twin_thinks_unlikely_to_help_is_vetoed():
    decider = Decider(PolicyTable.default(), twin=ScriptedTwin({"link-0003": 0.1}))
    [veto] = decider.decide(incident(("link-0003", "link_degradation"), tick=11))
    assert veto.decision is DecisionKind.VETO and "0.10 that it helps" in veto.explanation
    assert veto.twin is not None and veto.twin.p_improves == 0.1


def test_an_action_the_twin_is_unsure_about_waits_for_a_human():
    decider = Decider(PolicyTable.default(), twin=ScriptedTwin({"link-0003": 0.35}))
    [asked] = decider.decide(incident(("link-0003", "link_degradation"), tick=11))
    assert asked.decision is DecisionKind.APPROVAL and "unsure" in asked.explanation
    assert decider.approvals.pending()


def test_an_action_the_twin_thinks_likely_to_help_goes_ahead_with_the_parameters_it_chose():
    decider = Decider(PolicyTable.default(), twin=ScriptedTwin({"link-0003": 0.8}))
    decision, action = decider.decide(incident(("link-0003", "link_degradation"), tick=11))
    assert decision.decision is DecisionKind.ACT and isinstance(action, ActionRequest)
    assert action.arguments == {"link_id": "link-0003", "max_utilization_ratio": 0.9}


def test_nothing_off_its_baseline_is_held_not_acted_on_and_looked_at_again_later():
    twin = ScriptedTwin({"link-0003": 0.9}, degraded=False)
    decider = Decider(PolicyTable.default(), twin=twin, recheck_ticks=5)
    [held] = decider.decide(incident(("link-0003", "link_degradation"), tick=11))
    assert held.decision is DecisionKind.HOLD and "nothing to fix" in held.explanation
    assert decider.on_tick(13) == [] and len(twin.asked) == 1
    assert decider.on_tick(16) == [] and len(twin.asked) == 2  # asked again; the same hold says nothing


def test_a_twin_veto_moves_the_incident_on_to_its_next_candidate():
    decider = Decider(PolicyTable.default(), twin=ScriptedTwin({"link-0002": 0.05, "link-0003": 0.9}))
    verifier = Verifier()
    inc = incident(("link-0002", "link_degradation"), ("link-0003", "link_degradation"), tick=11)
    verifier.track(inc)
    [veto] = decider.decide(inc)
    nxt = verifier.decided(veto)
    assert nxt is not None and nxt.status is IncidentStatus.OPEN and nxt.attempt == 1
    decision, action = decider.decide(nxt)
    assert decision.decision is DecisionKind.ACT and action.target == "link-0003"


# --- guards ---------------------------------------------------------------------------------------

def act(iid: str, target: str, tool: str = "reroute_link", attempt: int = 0) -> ActionRequest:
    return ActionRequest(action_id=f"{iid}/{attempt}", incident_id=iid, tick=0, tool=tool, target=target,
                         arguments={"link_id": target})


def refused(guards: Guards, action: ActionRequest, tick: int) -> list[str]:
    return [v.guard for v in guards.check(action, tick) if not v.allowed]


def test_the_same_incident_step_is_acted_on_once_but_its_next_attempt_may_act():
    g = Guards()
    g.commit(act("INC-1", "link-0001"), 10)
    assert refused(g, act("INC-1", "link-0001"), 11) == ["dedup"]
    assert refused(g, act("INC-1", "link-0001", attempt=1), 11) == []


def test_the_entity_rate_limit_stops_a_third_action_on_one_entity_within_the_window_only():
    g = Guards(GuardConfig(window_ticks=50, per_entity=2))
    g.commit(act("INC-1", "link-0001"), 10)
    g.commit(act("INC-2", "link-0001"), 20)
    assert refused(g, act("INC-3", "link-0001"), 30) == ["entity_rate"]
    assert refused(g, act("INC-3", "link-0002"), 30) == []  # another entity is not limited
    assert refused(g, act("INC-3", "link-0001"), 61) == []  # the first action left the window


def test_the_tool_rate_limit_stops_one_tool_and_not_another():
    g = Guards(GuardConfig(per_tool=2, per_entity=5))
    g.commit(act("INC-1", "link-0001"), 10)
    g.commit(act("INC-2", "link-0002"), 11)
    assert refused(g, act("INC-3", "link-0003"), 12) == ["tool_rate"]
    assert refused(g, act("INC-3", "link-0003", tool="failover_link"), 12) == []


def test_the_blast_radius_stops_a_new_entity_but_not_one_already_changed():
    g = Guards(GuardConfig(blast_radius=2, per_tool=10, per_entity=5))
    g.commit(act("INC-1", "link-0001"), 10)
    g.commit(act("INC-2", "link-0002"), 11)
    assert refused(g, act("INC-3", "link-0003"), 12) == ["blast_radius"]
    assert refused(g, act("INC-3", "link-0002"), 12) == []


def test_a_refusing_guard_blocks_the_action_and_the_incident_goes_to_a_human():
    decider = Decider(PolicyTable.default(), guards=Guards(GuardConfig(per_entity=1)))
    verifier = Verifier()
    first = incident(("link-0003", "link_degradation"), tick=11)
    second = incident(("link-0003", "link_degradation"), tick=40, iid="INC-2")  # 29 ticks on, same link
    assert [type(r).__name__ for r in decider.decide(first)] == ["DecisionRecord", "ActionRequest"]
    decider.decide(first.model_copy(update={"status": IncidentStatus.RESOLVED, "tick": 15}))
    decider.on_tick(40)  # the first one closed too long ago to be still recovering
    verifier.track(second)
    [blocked] = decider.decide(second)
    assert blocked.decision is DecisionKind.BLOCK and "entity_rate" in blocked.explanation
    assert verifier.decided(blocked).status is IncidentStatus.ESCALATED


def test_with_acting_switched_off_decisions_are_held_and_no_guard_is_consulted():
    decider = Decider(PolicyTable.default(), act=False)
    [held] = decider.decide(incident(("link-0003", "link_degradation"), tick=11))
    assert held.decision is DecisionKind.HOLD and held.guards == []
