"""Actuators: the policy table, planning and the idempotent executor (verification: test_verify.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from actuators import Executor, PolicyError, PolicyTable, plan
from schemas import (
    ActionRequest,
    ActionResult,
    AnomalyEvent,
    Candidate,
    DecisionKind,
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
    assert p.action.arguments == {"upf_id": "upf-1"}  # the instances: the twin picks them


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
