"""Actuators: the policy table, planning, the idempotent executor and verification."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from actuators import Executor, PolicyError, PolicyTable, Verifier, plan
from schemas import (
    ActionRequest,
    ActionResult,
    AnomalyEvent,
    Candidate,
    DecisionKind,
    DecisionRecord,
    Incident,
    IncidentStatus,
)
from simulator import CATALOGUE

# --- helpers ------------------------------------------------------------------------------------


def candidate(entity_id: str, fault_type: str | None) -> Candidate:
    return Candidate(entity_id=entity_id, score=1.0, fault_type=fault_type, explained=1)


def incident(*candidates: Candidate, confidence: float = 0.9, attempt: int = 0, tick: int = 10,
             symptoms: tuple[str, ...] = ("cell-0003-1", "cell-0003-2"),
             incident_id: str = "INC-1") -> Incident:
    return Incident(incident_id=incident_id, status=IncidentStatus.OPEN, opened_tick=tick,
                    tick=tick, fault_type=candidates[0].fault_type, confidence=confidence,
                    candidates=list(candidates), symptoms=list(symptoms), attempt=attempt)


def link_incident(**kw: Any) -> Incident:
    return incident(candidate("link-0003", "link_degradation"),
                    candidate("upf-1", "upf_overload"), **kw)


def action(action_id: str = "INC-1/0") -> ActionRequest:
    return ActionRequest(action_id=action_id, incident_id=action_id.split("/")[0], tick=10,
                         tool="reroute_link", target="link-0003",
                         arguments={"link_id": "link-0003"})


def result_of(inc: Incident, tick: int, *, ok: bool = True) -> ActionResult:
    return ActionResult(action_id=f"{inc.incident_id}/{inc.attempt}", incident_id=inc.incident_id,
                        tick=tick, tool="reroute_link", target="link-0003", ok=ok,
                        detail="done" if ok else "boom")


def anomaly(entity_id: str, tick: int) -> AnomalyEvent:
    return AnomalyEvent(entity_id=entity_id, kpi="latency_ms", tick=tick, value=90.0,
                        expected=10.0, score=8.0, detector="test")


ONE_RULE = """
rules:
  - {fault_type: link_degradation, tool: failover_link, target_argument: link_id,
     min_confidence: 0.8}
"""


# --- policy table -------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", CATALOGUE, ids=lambda f: f.name)
def test_the_default_policy_remediates_every_catalogue_fault_with_its_tool(fault: Any) -> None:
    table = PolicyTable.default()
    rule = table.lookup(fault.name)
    assert rule is not None
    assert table.workflow_of(rule).main_call().call == fault.remediation


def test_the_default_policy_names_the_target_argument_of_its_tool() -> None:
    # The server's tools take the target as "<kind>_id" (cell_id, link_id, upf_id, ...).
    table = PolicyTable.default()
    for fault in CATALOGUE:
        main = table.workflow_of(table.lookup(fault.name)).main_call()
        assert main.target_argument == f"{fault.root_kind.value}_id", fault.name


@pytest.mark.parametrize(("text", "field"), [
    ("rules:\n  - {fault_type: cell_outage, target_argument: cell_id}\n",
     "rules.0: Value error, give either tool"),
    ("rules:\n  - {fault_type: cell_outage, tool: restart_cell, target_argument: cell_id,"
     " min_confidence: 2}\n", "min_confidence"),
    ("rules: []\n", "rules"),
    ("rules:\n  - {fault_type: cell_outage, tool: restart_cell, target_argument: cell_id,"
     " colour: red}\n", "colour"),
], ids=["missing-tool", "confidence-above-one", "empty-rules", "unknown-field"])
def test_a_bad_policy_is_rejected_naming_the_field(text: str, field: str) -> None:
    with pytest.raises(PolicyError) as caught:
        PolicyTable.parse(text, "my-policy.yaml")
    assert field in str(caught.value)
    assert "my-policy.yaml" in str(caught.value)


def test_a_policy_that_is_not_yaml_is_rejected() -> None:
    with pytest.raises(PolicyError, match="not valid YAML"):
        PolicyTable.parse("rules: [unclosed\n  - {", "broken.yaml")


def test_an_empty_policy_file_is_rejected() -> None:
    with pytest.raises(PolicyError, match="empty.yaml"):
        PolicyTable.parse("", "empty.yaml")


def test_loading_a_missing_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError, match="nope.yaml"):
        PolicyTable.load(missing)


def test_a_user_policy_replaces_the_rule_for_its_fault_type_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "user.yaml"
    path.write_text(ONE_RULE)
    table = PolicyTable.load(path)
    rule = table.lookup("link_degradation")
    assert (rule.tool, rule.min_confidence) == ("failover_link", 0.8)
    assert table.lookup("cell_outage").workflow == "restart_cell"
    assert table.lookup(None) is None


# --- planning -------------------------------------------------------------------------------------

def test_an_incident_above_the_minimum_confidence_is_acted_on() -> None:
    p = plan(link_incident(), PolicyTable.default())
    assert p.decision.decision is DecisionKind.ACT
    assert p.action is not None
    assert p.action.action_id == "INC-1/0"
    assert (p.action.incident_id, p.action.tool, p.action.target) == (
        "INC-1", "reroute_link", "link-0003")
    assert p.action.arguments == {"link_id": "link-0003"}
    assert p.decision.tool == "reroute_link" and p.decision.target == "link-0003"


def test_the_action_carries_the_rules_extra_arguments() -> None:
    inc = incident(candidate("cell-0003-1", "antenna_misconfig"))
    p = plan(inc, PolicyTable.default())
    assert p.action.tool == "set_antenna_tilt"
    assert p.action.arguments == {"cell_id": "cell-0003-1", "tilt_deg": 4.0}


def test_with_acting_switched_off_the_plan_is_held_without_an_action() -> None:
    p = plan(link_incident(), PolicyTable.default(), act=False)
    assert p.decision.decision is DecisionKind.HOLD
    assert p.action is None
    assert "reroute_link" in p.decision.explanation


def test_a_confidence_below_the_policy_minimum_is_escalated_without_an_action() -> None:
    policies = PolicyTable.parse(ONE_RULE, "user")  # min_confidence 0.8
    p = plan(link_incident(confidence=0.79), policies)
    assert p.decision.decision is DecisionKind.ESCALATE
    assert p.action is None
    assert "0.80" in p.decision.explanation


def test_a_confidence_at_the_policy_minimum_is_acted_on() -> None:
    policies = PolicyTable.parse(ONE_RULE, "user")
    assert plan(link_incident(confidence=0.8), policies).decision.decision is DecisionKind.ACT


@pytest.mark.parametrize("fault_type", ["solar_flare", None])
def test_a_fault_type_without_a_policy_is_escalated(fault_type: str | None) -> None:
    p = plan(incident(candidate("cell-0003-1", fault_type)), PolicyTable.default())
    assert p.decision.decision is DecisionKind.ESCALATE
    assert p.action is None


def test_a_policy_that_fixes_the_target_argument_is_refused() -> None:
    text = ("rules:\n  - {fault_type: cell_outage, tool: restart_cell, target_argument: cell_id,"
            " arguments: {cell_id: cell-0001-1}}\n")
    with pytest.raises(PolicyError, match="rules.0.*cell_id"):
        PolicyTable.parse(text, "shadowing.yaml")


def test_a_second_attempt_targets_the_second_candidate() -> None:
    p = plan(link_incident(attempt=1), PolicyTable.default())
    assert p.action.action_id == "INC-1/1"
    assert (p.action.tool, p.action.target) == ("scale_out_upf", "upf-1")
    assert p.action.arguments == {"upf_id": "upf-1", "instances": 1}


# --- executor -------------------------------------------------------------------------------------

@dataclass
class Text:
    text: str


@dataclass
class Reply:
    is_error: bool
    content: list[Text]


@dataclass
class FakeCaller:
    reply: Reply = field(default_factory=lambda: Reply(False, [Text("reroute_link applied")]))
    calls: list[tuple[str, dict]] = field(default_factory=list)
    metas: list[dict | None] = field(default_factory=list)

    async def call_tool(self, name: str, arguments: dict | None = None, *,
                        meta: dict | None = None) -> Reply:
        self.calls.append((name, arguments))
        self.metas.append(meta)
        return self.reply


class RaisingCaller:
    async def call_tool(self, name: str, arguments: dict | None = None, *,
                        meta: dict | None = None) -> Reply:
        raise ConnectionError("session closed")


class HangingCaller:
    def __init__(self) -> None:
        self.never = asyncio.Event()

    async def call_tool(self, name: str, arguments: dict | None = None, *,
                        meta: dict | None = None) -> Reply:
        await self.never.wait()
        raise AssertionError("unreachable")


def execute(executor: Executor, *actions: ActionRequest) -> list[ActionResult]:
    async def main() -> list[ActionResult]:
        return [await executor.execute(a, tick=11) for a in actions]

    return asyncio.run(main())


def test_an_action_calls_its_tool_with_its_arguments() -> None:
    caller = FakeCaller()
    (res,) = execute(Executor(caller=caller), action())
    assert caller.calls == [("reroute_link", {"link_id": "link-0003"})]
    assert res.ok and res.detail == "reroute_link applied"
    assert (res.action_id, res.incident_id, res.tick) == ("INC-1/0", "INC-1", 11)


def test_the_action_id_travels_with_the_call_so_the_tool_server_can_apply_it_once() -> None:
    from schemas import ACTION_ID_META

    caller = FakeCaller()
    execute(Executor(caller=caller), action("INC-1/0"))
    assert caller.metas == [{ACTION_ID_META: "INC-1/0"}]


def test_the_same_action_id_executed_twice_calls_the_tool_once() -> None:
    caller = FakeCaller()
    executor = Executor(caller=caller)
    first, second = execute(executor, action(), action())
    assert len(caller.calls) == 1
    assert second == first


def test_a_new_attempt_is_a_new_action_and_calls_the_tool_again() -> None:
    caller = FakeCaller()
    execute(Executor(caller=caller), action("INC-1/0"), action("INC-1/1"))
    assert len(caller.calls) == 2


def test_an_error_result_is_a_failed_action_with_the_tools_text() -> None:
    caller = FakeCaller(reply=Reply(True, [Text("target 'link-0003' is not an entity")]))
    (res,) = execute(Executor(caller=caller), action())
    assert res.ok is False
    assert "not an entity" in res.detail


def test_a_caller_that_raises_gives_a_failed_action_not_an_exception() -> None:
    (res,) = execute(Executor(caller=RaisingCaller()), action())
    assert res.ok is False
    assert "session closed" in res.detail


def test_a_call_that_never_answers_times_out_as_a_failed_action() -> None:
    (res,) = execute(Executor(caller=HangingCaller(), timeout_s=0.05), action())
    assert res.ok is False
    assert "timed out" in res.detail


# --- verification ---------------------------------------------------------------------------------

def verifier() -> Verifier:
    return Verifier(recovery_ticks=4, verify_ticks=12, max_attempts=2)


def anomalies(v: Verifier, entity_id: str, ticks: range) -> None:
    for t in ticks:
        v.observe(anomaly(entity_id, t))


def test_an_incident_resolves_after_recovery_ticks_without_anomalies_and_not_earlier() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    anomalies(v, "cell-0003-1", range(10, 21))
    assert v.on_tick(23) == []
    (done,) = v.on_tick(24)
    assert done.status is IncidentStatus.RESOLVED
    assert done.tick == 24
    assert v.on_tick(30) == []  # closed incidents are no longer watched


def test_anomalies_of_unrelated_entities_do_not_delay_resolution() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    anomalies(v, "cell-0042-1", range(10, 30))
    (done,) = v.on_tick(14)
    assert done.status is IncidentStatus.RESOLVED


def test_the_first_candidate_is_watched_as_well_as_the_symptoms() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    anomalies(v, "link-0003", range(10, 21))
    assert v.on_tick(23) == []


def test_a_successful_action_makes_the_incident_mitigating() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    out = v.acted(result_of(inc, tick=12))
    assert out.status is IncidentStatus.MITIGATING
    assert "reroute_link" in out.reason


def test_no_recovery_after_the_action_moves_on_to_the_second_candidate() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    v.acted(result_of(inc, tick=12))
    anomalies(v, "cell-0003-1", range(10, 25))
    assert v.on_tick(23) == []
    (retry,) = v.on_tick(24)
    assert retry.status is IncidentStatus.OPEN
    assert retry.attempt == 1
    assert "upf-1" in retry.reason


def test_an_incident_is_escalated_when_the_second_attempt_also_fails_to_recover() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    v.acted(result_of(inc, tick=12))
    anomalies(v, "cell-0003-1", range(10, 25))
    (retry,) = v.on_tick(24)
    v.track(retry)
    v.acted(result_of(retry, tick=25))
    anomalies(v, "cell-0003-1", range(25, 38))
    assert v.on_tick(36) == []
    (done,) = v.on_tick(37)
    assert done.status is IncidentStatus.ESCALATED
    assert done.attempt == 1


def test_an_incident_with_one_candidate_is_escalated_when_the_action_does_not_help() -> None:
    v = verifier()
    inc = incident(candidate("link-0003", "link_degradation"), tick=10)
    v.track(inc)
    v.acted(result_of(inc, tick=12))
    anomalies(v, "cell-0003-1", range(10, 25))
    (done,) = v.on_tick(24)
    assert done.status is IncidentStatus.ESCALATED


def test_recovery_after_the_action_resolves_the_incident() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    v.acted(result_of(inc, tick=12))
    anomalies(v, "cell-0003-1", range(10, 14))
    (done,) = v.on_tick(17)
    assert done.status is IncidentStatus.RESOLVED
    assert "reroute_link" in done.reason


def test_a_failed_action_escalates_at_once() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    out = v.acted(result_of(inc, tick=12, ok=False))
    assert out.status is IncidentStatus.ESCALATED
    assert "boom" in out.reason
    assert v.on_tick(100) == []


def test_an_escalation_decided_upstream_closes_the_incident_as_escalated() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    record = DecisionRecord(incident_id="INC-1", tick=11, stage="decide",
                            decision=DecisionKind.ESCALATE, explanation="needs a human")
    out = v.decided(record)
    assert out.status is IncidentStatus.ESCALATED
    assert out.reason == "needs a human"
    assert v.on_tick(100) == []


def test_a_decision_to_act_does_not_close_the_incident() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    record = DecisionRecord(incident_id="INC-1", tick=11, stage="decide",
                            decision=DecisionKind.ACT, explanation="calling reroute_link")
    assert v.decided(record) is None
    anomalies(v, "cell-0003-1", range(10, 21))
    assert v.on_tick(23) == []


def test_results_and_decisions_of_untracked_incidents_are_ignored() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    assert v.acted(result_of(inc, tick=12)) is None
    record = DecisionRecord(incident_id="INC-1", tick=11, stage="decide",
                            decision=DecisionKind.ESCALATE, explanation="needs a human")
    assert v.decided(record) is None


def test_a_result_delivered_again_or_for_an_earlier_attempt_changes_nothing() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    assert v.acted(result_of(inc, tick=12)).status is IncidentStatus.MITIGATING
    assert v.acted(result_of(inc, tick=12)) is None  # the same result, re-delivered
    anomalies(v, "cell-0003-1", range(10, 25))
    (retry,) = v.on_tick(24)
    v.track(retry)
    assert v.acted(result_of(inc, tick=25)) is None  # attempt 0's result, late
    assert v.acted(result_of(retry, tick=25)).status is IncidentStatus.MITIGATING


def test_after_a_restart_a_mitigating_incident_is_judged_from_its_action_tick() -> None:
    v = verifier()
    mitigating = link_incident(tick=10).model_copy(update={"status": IncidentStatus.MITIGATING, "tick": 12,
                                                          "reason": "reroute_link on link-0003"})
    closed = link_incident(tick=5, incident_id="INC-0").model_copy(
        update={"status": IncidentStatus.RESOLVED})
    v.restore([mitigating, closed], {"cell-0003-1": 13})
    v.track(closed.model_copy(update={"status": IncidentStatus.OPEN}))  # an old version, re-delivered
    assert v.on_tick(16) == []  # anomalous until 13: four quiet ticks end at 17
    (done,) = v.on_tick(17)
    assert (done.incident_id, done.status) == ("INC-1", IncidentStatus.RESOLVED)
    assert v.on_tick(40) == []  # INC-0 was closed before the restart and stays closed


def test_one_tick_noise_on_the_incidents_entities_does_not_hold_off_its_resolution() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    anomalies(v, "cell-0003-1", range(10, 13))
    for t in range(13, 30, 2):  # a different KPI or tick each time: never twice running
        v.observe(anomaly("cell-0003-2", t))
    assert v.on_tick(15) == []
    (done,) = v.on_tick(16)  # 4 ticks after the last persistent anomaly (12)
    assert done.status is IncidentStatus.RESOLVED


def test_an_anomaly_that_persists_holds_off_the_resolution() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    anomalies(v, "cell-0003-2", range(10, 20))
    assert v.on_tick(22) == []
    (done,) = v.on_tick(23)
    assert done.status is IncidentStatus.RESOLVED


def test_a_new_incident_rooted_on_a_watched_entity_takes_that_entity_out_of_the_older_watch() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    v.track(incident(candidate("cell-0003-2", "cell_congestion"), symptoms=("cell-0003-2",),
                     incident_id="INC-2", tick=12))
    anomalies(v, "cell-0003-2", range(12, 30))  # the second fault goes on
    (done,) = v.on_tick(16)
    assert (done.incident_id, done.status) == ("INC-1", IncidentStatus.RESOLVED)
