"""The approval gate against a running loop: a human approves and denies through `netloop approvals`."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
from pathlib import Path

import pytest

from actuators import ApprovalBook
from schemas import ActionRequest, DecisionKind, DecisionRecord, IncidentStatus
from simulator import load_scenario
from streams.evaluate.report import build_report
from streams.runtime.embedded import EmbeddedLoop, LoopState
from streams.settings import Settings

POLICY = """
rules:
  - {fault_type: link_degradation, entity_kind: link, workflow: reroute_link, min_confidence: 0.3,
     approval: true}
  - {fault_type: cell_outage, domain: ran, workflow: restart_cell, min_confidence: 0.3, approval: true}
"""


async def netloop(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from streams.cli import main; main()", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture(scope="module")
def answered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("approvals")
    (tmp / "policies").mkdir()
    (tmp / "policies" / "approve.yaml").write_text(POLICY)
    settings = Settings(state_dir=tmp / "state", policies=tmp / "policies", approval_timeout_ticks=1000)
    control = str(tmp / "state" / "control.json")
    seen: list[tuple[str, int, str, str]] = []

    async def answer(state: LoopState) -> None:
        for a in loop.approvals.pending():
            listing = await netloop("approvals", "list", "--control-file", control)
            verb = "approve" if a.action.tool == "reroute_link" else "deny"
            done = await netloop("approvals", verb, a.approval_id, "--control-file", control)
            seen.append((a.approval_id, listing[0], listing[1], done[1]))

    async def go() -> LoopState:
        return await loop.run(on_tick=answer)

    loop = EmbeddedLoop(load_scenario("smoke").idealized(), settings, control=True)
    state = asyncio.run(go())
    report = build_report(state.network, state.recorder, wall_seconds=1.0, entity_reports=1)
    return state, report, seen, tmp


def test_a_human_approves_one_action_and_denies_another_through_the_cli(answered):
    _, report, seen, _ = answered
    assert [(aid, code) for aid, code, _, _ in seen] == [("APR-0001", 0), ("APR-0002", 0)]
    assert "APR-0001  pending" in seen[0][2] and "reroute_link on link-0003" in seen[0][2]
    assert "approved" in seen[0][3] and "denied" in seen[1][3]
    faults = {f.type: f for f in report.faults}
    assert faults["link_degradation"].ended_by == "action"  # approved: acted
    assert faults["cell_outage"].ended_by is None and faults["cell_outage"].escalated  # denied
    assert (report.approvals_requested, report.approvals_granted, report.approvals_denied) == (2, 1, 1)


def test_unrelated_actions_do_not_wait_for_approval(answered):
    state, report, _, _ = answered
    upf = next(f for f in report.faults if f.type == "upf_overload")
    assert upf.ended_by == "action"
    acts = [d for d in state.recorder.decisions if d.decision is DecisionKind.ACT]
    assert [d.approval_id for d in acts if d.tool == "scale_out_upf"] == [None]


def test_the_control_file_is_gone_when_the_loop_stops(answered):
    *_, tmp = answered
    assert not (tmp / "state" / "control.json").exists()


def test_without_a_running_loop_the_cli_says_how_to_start_one(tmp_path: Path):
    code, _, err = asyncio.run(netloop("approvals", "list", "--control-file", str(tmp_path / "none.json")))
    assert code == 2 and "netloop run --control" in err and "Traceback" not in err


def request(book: ApprovalBook, tick: int = 10) -> str:
    action = ActionRequest(action_id="INC-1/0", incident_id="INC-1", tick=tick, tool="restart_cell",
                           target="cell-0001-1", arguments={"cell_id": "cell-0001-1"})
    decision = DecisionRecord(incident_id="INC-1", tick=tick, stage="decide", decision=DecisionKind.ACT,
                              explanation="test")
    return book.request(action, decision, tick).approval_id


@pytest.mark.parametrize(("unattended", "status"), [("deny", "denied"), ("approve", "approved")])
def test_an_unanswered_request_becomes_the_unattended_default_at_the_timeout(unattended, status):
    book = ApprovalBook(timeout_ticks=5, unattended=unattended)
    aid = request(book)
    assert book.due(14) == []
    [done] = book.due(15)
    assert (done.approval_id, done.status) == (aid, status) and "unattended" in done.by


def test_the_control_file_is_readable_by_its_owner_only(tmp_path: Path):
    from streams.runtime.control import ControlServer

    async def go() -> tuple[int, dict]:
        async with ControlServer(ApprovalBook(), state_dir=tmp_path) as server:
            return server.file.stat().st_mode, json.loads(server.file.read_text())

    mode, info = asyncio.run(go())
    assert stat.S_IMODE(mode) == 0o600 and info["url"].startswith("http://127.0.0.1:")


def test_a_request_without_the_token_is_refused(tmp_path: Path):
    import httpx

    from streams.runtime.control import ControlServer

    async def go() -> tuple[int, int]:
        book = ApprovalBook()
        aid = request(book)
        async with ControlServer(book, state_dir=tmp_path) as server, httpx.AsyncClient() as client:
            wrong = await client.post(f"{server.url}/approvals/{aid}/approve",
                                      headers={"authorization": "Bearer guess"})
            none = await client.get(f"{server.url}/approvals")
        assert book.get(aid).status == "pending"
        return wrong.status_code, none.status_code

    assert asyncio.run(go()) == (401, 401)


def test_the_approved_incident_resolves_and_the_denied_one_is_escalated(answered):
    state, *_ = answered
    statuses = {h[-1].candidates[h[-1].attempt].fault_type: h[-1].status
                for h in state.recorder.incidents.values()}
    assert statuses["link_degradation"] is IncidentStatus.RESOLVED
    assert statuses["cell_outage"] is IncidentStatus.ESCALATED


def test_every_decision_of_a_run_is_in_the_audit_file_and_netloop_audit_prints_one_incident(tmp_path):
    audit = tmp_path / "audit.jsonl"
    report = str(tmp_path / "r.json")
    code, _, err = asyncio.run(netloop("run", "--scenario", "smoke", "--fast", "--json", report,
                                       "--audit", str(audit)))
    assert code == 0, err
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    acts = [r for r in lines if r["decision"] == "act"]
    assert len(acts) == json.loads((tmp_path / "r.json").read_text())["actions_executed"] >= 3
    assert all(r["explanation"] and r["evidence"] and r["plan"] for r in acts)
    one = acts[0]["incident_id"]
    code, out, _ = asyncio.run(netloop("audit", "--file", str(audit), "--incident", one))
    assert code == 0 and out.count(f" {one} ") == sum(r["incident_id"] == one for r in lines)
    assert "act reroute_link on link-0003" in out and "guards: dedup ok" in out and "resolve" in out
