"""The policy library from user directories, and the workflow engine's steps, tick by tick."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from actuators import Executor, PolicyError, PolicyTable, WorkflowEngine
from netmcp import ExecutionContext
from schemas import ActionRequest, ActionResult, Candidate
from tests.test_actuators import Reply, Text


@dataclass
class Network:
    """A caller that records tool calls; ``fail`` makes a tool fail that many times first."""

    fail: dict[str, int] = field(default_factory=dict)
    kpis: dict[str, float] = field(default_factory=lambda: {"packet_loss_ratio": 0.5})
    calls: list[str] = field(default_factory=list)

    async def call_tool(self, name: str, arguments: dict | None = None, *,
                        meta: dict | None = None) -> Reply:
        self.calls.append(name)
        if name == "get_entity_kpis":
            reply = Reply(False, [Text("kpis")])
            reply.structured_content = {"kpis": self.kpis}  # type: ignore[attr-defined]
            return reply
        if self.fail.get(name, 0) > 0:
            self.fail[name] -= 1
            return Reply(True, [Text(f"{name} refused")])
        return Reply(False, [Text(f"{name} applied")])


def engine_for(text: str, network: Network) -> WorkflowEngine:
    policies = PolicyTable.default().over(PolicyTable.parse(text, "test.yaml"))
    return WorkflowEngine(executor=Executor(caller=network), policies=policies,
                          context=lambda action_id: ExecutionContext(action_id))


def action(workflow: str) -> ActionRequest:
    return ActionRequest(action_id="INC-1/0", incident_id="INC-1", tick=10, tool="reroute_link",
                         target="link-0003", arguments={"link_id": "link-0003"}, workflow=workflow)


def drive(engine: WorkflowEngine, act: ActionRequest, ticks: int) -> list[tuple[int, ActionResult]]:
    """Start ``act`` at tick 11 and close ticks 11.. as the loop would; results with the tick they came."""
    async def main() -> list[tuple[int, ActionResult]]:
        out = [(11, r) for r in await engine.start(act, 11)]
        for t in range(11, 11 + ticks):
            out += [(t, r) for r in await engine.on_tick(t)]
        return out

    return asyncio.run(main())


WAIT = """
workflows:
  w:
    steps:
      - {call: reroute_link, target_argument: link_id}
      - wait: 3
      - {call: failover_link, target_argument: link_id}
"""


def test_a_workflow_waits_ticks_without_holding_the_loop_then_goes_on() -> None:
    net = Network()
    engine = engine_for(WAIT, net)

    async def main() -> tuple[list[ActionResult], int, list[ActionResult]]:
        first = await engine.start(action("w"), 11)
        parked = engine.waiting  # start returned while the run waits
        rest = []
        for t in range(11, 17):
            rest += await engine.on_tick(t)
        return first, parked, rest

    first, parked, [result] = asyncio.run(main())
    assert first == [] and parked == 1
    assert net.calls == ["reroute_link", "failover_link"]
    assert result.ok and result.run_id == "wf:INC-1/0"
    assert [line.split()[0] for line in result.trace] == ["t=11", "t=11", "t=14"]


WF = """
workflows:
  w:
    steps:
      - call: reroute_link
        target_argument: link_id
        name: fix
        retry: {attempts: 3, backoff_ticks: 1}
        compensate: {call: rollback_change, target_argument: entity_id}
      - observe: after
      - if: {observed: after, kpi: packet_loss_ratio, above: 0.1}
        then: [{fail: still losing packets}]
        else: [{call: failover_link, target_argument: link_id}]
"""


def test_a_failed_call_is_retried_with_backoff_in_ticks() -> None:
    net = Network(fail={"reroute_link": 2}, kpis={"packet_loss_ratio": 0.0})
    [(_, result)] = drive(engine_for(WF, net), action("w"), ticks=8)
    assert net.calls == ["reroute_link"] * 3 + ["get_entity_kpis", "failover_link"]
    tried = [line.split()[0] for line in result.trace if "reroute_link" in line]
    assert tried == ["t=11", "t=12", "t=14"] and result.ok  # backoff 1 tick, then 2


def test_a_kpi_condition_that_fails_the_workflow_runs_its_compensation() -> None:
    net = Network(kpis={"packet_loss_ratio": 0.5})
    [(_, result)] = drive(engine_for(WF, net), action("w"), ticks=2)
    assert net.calls == ["reroute_link", "get_entity_kpis", "rollback_change"]
    assert not result.ok and result.rolled_back and result.compensation == []
    assert "still losing packets" in " ".join(result.trace)


def test_a_successful_reversible_workflow_hands_its_compensation_to_verification() -> None:
    net = Network(kpis={"packet_loss_ratio": 0.0})
    [(_, result)] = drive(engine_for(WF, net), action("w"), ticks=2)
    assert result.ok and not result.rolled_back
    assert [(c.tool, c.arguments) for c in result.compensation] == [
        ("rollback_change", {"entity_id": "link-0003"})]


def test_parallel_branches_run_side_by_side_and_the_run_ends_when_both_have() -> None:
    net = Network()
    text = """
workflows:
  w:
    steps:
      - parallel:
          - [{wait: 4}, {call: reroute_link, target_argument: link_id}]
          - [{call: failover_link, target_argument: link_id}, {wait: 1}, {observe: now}]
"""
    [(tick, result)] = drive(engine_for(text, net), action("w"), ticks=8)
    assert net.calls == ["failover_link", "get_entity_kpis", "reroute_link"]
    assert tick == 14 and result.ok


def test_each_call_of_a_workflow_has_its_own_idempotency_key_under_the_action_id() -> None:
    net = Network()
    text = "workflows:\n  w:\n    steps:\n      - {call: reroute_link, target_argument: link_id}\n" \
           "      - {call: failover_link, target_argument: link_id}\n"
    engine = engine_for(text, net)
    drive(engine, action("w"), ticks=1)
    assert sorted(engine.executor._done) == ["INC-1/0", "INC-1/0#1"]


def test_an_action_started_twice_runs_once() -> None:
    net = Network()
    engine = engine_for(WAIT, net)

    async def main() -> list[ActionResult]:
        return await engine.start(action("w"), 11) + await engine.start(action("w"), 11)

    assert asyncio.run(main()) == [] and net.calls == ["reroute_link"] and engine.waiting == 1


# --- the policy library -------------------------------------------------------------------------

USER_RULES = """
rules:
  - id: careful-links
    fault_type: link_degradation
    entity_kind: link
    min_confidence: 0.0
    max_confidence: 0.7
    priority: 10
    workflow: check_then_reroute
    approval: true
workflows:
  check_then_reroute:
    steps:
      - observe: before
      - {call: reroute_link, target_argument: link_id}
"""


def link(conf_fault: str = "link_degradation") -> Candidate:
    return Candidate(entity_id="link-0003", score=1.0, fault_type=conf_fault, explained=3)


def test_policies_from_a_user_directory_add_rules_that_win_by_priority(tmp_path: Path) -> None:
    (tmp_path / "10-links.yaml").write_text(USER_RULES)
    (tmp_path / "notes.txt").write_text("not a policy")
    table = PolicyTable.load(tmp_path)
    low = table.match(link(), 0.5).rule
    assert low is not None and low.id == "careful-links" and low.approval
    assert table.workflow_of(low).main_call().call == "reroute_link"
    high = table.match(link(), 0.9).rule  # outside the user's range: the built-in rule
    assert high is not None and high.id == "link_degradation"


def test_a_later_file_of_the_directory_overrides_a_rule_by_id(tmp_path: Path) -> None:
    (tmp_path / "10-links.yaml").write_text(USER_RULES)
    (tmp_path / "20-off.yaml").write_text(USER_RULES.replace("priority: 10", "priority: -1"))
    assert PolicyTable.load(tmp_path).match(link(), 0.5).rule.id == "link_degradation"


@pytest.mark.parametrize(("text", "where"), [
    ("rules:\n  - {fault_type: x, workflow: nowhere}\n", "rules.0.workflow: no workflow named 'nowhere'"),
    ("workflows:\n  w:\n    steps:\n      - {cal: reroute_link}\n", "workflows.w.steps.0: a step is one of"),
    ("workflows:\n  w:\n    steps:\n      - {call: reroute_link}\n",
     "workflows.w.steps.0.call.target_argument: Field required"),
    ("workflows:\n  w:\n    steps:\n      - {wait: 2}\n",
     "workflows.w.steps: a workflow needs at least one call"),
    ("rules:\n  - {fault_type: x, entity_kind: tower, tool: t, target_argument: a}\n",
     "rules.0.entity_kind"),
], ids=["unknown-workflow", "unknown-step", "call-without-target", "no-call", "bad-kind"])
def test_an_invalid_file_in_a_user_directory_is_refused_naming_file_and_field(
        tmp_path: Path, text: str, where: str) -> None:
    (tmp_path / "10-good.yaml").write_text(USER_RULES)
    (tmp_path / "20-bad.yaml").write_text(text)
    with pytest.raises(PolicyError) as caught:
        PolicyTable.load(tmp_path)
    assert str(tmp_path / "20-bad.yaml") in str(caught.value) and where in str(caught.value)


def test_an_empty_policy_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no \\*.yaml policy files"):
        PolicyTable.load(tmp_path)


def test_the_engine_keeps_no_ended_run_and_the_last_action_ids_it_ran_are_not_run_again() -> None:
    net = Network()
    engine = WorkflowEngine(executor=Executor(caller=net, remember=2), policies=PolicyTable.default(),
                            context=lambda action_id: ExecutionContext(action_id), remember=2)

    def act(n: int) -> ActionRequest:
        return ActionRequest(action_id=f"INC-{n}/0", incident_id=f"INC-{n}", tick=10, tool="reroute_link",
                             target="link-0003", arguments={"link_id": "link-0003"})

    async def main() -> list[ActionResult]:
        out = []
        for n in (1, 2, 3, 3, 2):  # the repeats are among the last two: not run, not called again
            out += await engine.start(act(n), 11)
        return out

    results = asyncio.run(main())
    assert [r.action_id for r in results] == ["INC-1/0", "INC-2/0", "INC-3/0"]
    assert net.calls == ["reroute_link"] * 3 and engine.runs == {}
    assert len(engine.executor._done) == 2  # INC-1/0 forgotten: the tool server's ledger has it
