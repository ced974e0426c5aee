"""The NetMCP extension on a tool server: metadata, verification, tokens, idempotency, trace, search.

In-memory: the official SDK client against ``build_server(FakeNetwork())``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from netmcp import (
    ACTUATOR,
    NETMCP,
    ROLES,
    SPECS,
    AuditLog,
    ExecutionContext,
    NetMcpClient,
    Verdict,
    build_server,
)
from netmcp.auth import NETMCP_CONFIRM, NETWORK_ACT, NETWORK_READ, Authority
from netmcp.spec import FORBIDDEN, META_TRACE, NEEDS_CONFIRMATION, UNAUTHORIZED
from simulator import CATALOGUE
from tests.test_netmcp import FakeNetwork

SECRET = "s3cret-s3cret-s3cret"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def run(server: MCPServer, body: Callable[[NetMcpClient], Awaitable[Any]], **kw: Any) -> Any:
    async def main() -> Any:
        async with NetMcpClient(server, **kw) as c:
            return await body(c)

    return asyncio.run(main())


def refused(server: MCPServer, tool: str, args: dict[str, Any], **kw: Any) -> MCPError:
    call_kw = {k: kw.pop(k) for k in ("confirmed", "action_id") if k in kw}

    async def body(c: NetMcpClient) -> MCPError:
        with pytest.raises(MCPError) as exc:
            await c.call(tool, args, **call_kw)
        return exc.value

    return run(server, body, **kw)


def secured(clock: Clock, *clients: tuple[str, list[str]]) -> tuple[Authority, MCPServer, FakeNetwork]:
    authority = Authority(clock=clock)
    for client_id, scopes in clients:
        authority.add_client(client_id, SECRET, scopes)
    network = FakeNetwork()
    return authority, build_server(network, verifier=authority.verifier()), network


def token_of(authority: Authority, client_id: str) -> Callable[[], Awaitable[str]]:
    async def token() -> str:
        return authority.issue(client_id, SECRET).access_token

    return token


# --- the tool model in the listing --------------------------------------------------------------

def test_the_servers_carry_at_least_15_tools_split_over_a_ran_and_a_core_server() -> None:
    assert len(SPECS) >= 15
    assert ROLES["ran"] | ROLES["core"] == ROLES["all"]
    assert {f.remediation for f in CATALOGUE} <= ROLES["all"]
    assert {"get_cell_status", "get_nf_status", "get_link_status"} <= ROLES["all"]
    everywhere = {"get_entity_kpis", "get_topology_neighbourhood", "list_active_alarms",
                  "get_maintenance_calendar", "rollback_change"}
    assert not (ROLES["ran"] - everywhere) \
        & ROLES["core"]


def test_a_plain_mcp_client_sees_every_tool_with_its_netmcp_metadata_in_meta() -> None:
    async def main() -> list[Any]:
        async with Client(build_server(FakeNetwork())) as c:
            return (await c.list_tools()).tools

    tools = {t.name: t for t in asyncio.run(main())}
    assert set(tools) == ROLES["all"]
    for name, tool in tools.items():
        meta = tool.meta[NETMCP]
        assert meta["category"] in {"sensing", "connectivity", "performance-assurance", "recovery"}, name
        assert meta["permission"] in {"public", "token", "agents"}, name
        assert tool.input_schema["type"] == "object"
    tilt = tools["set_antenna_tilt"].meta[NETMCP]["constraints"]
    assert {"kind": "rule", "params": ["tilt_deg", "mechanical_tilt_deg"],
            "rule": "tilt_deg + mechanical_tilt_deg <= 15 (total downtilt)"} in tilt


def test_a_ran_server_carries_only_ran_and_generic_tools() -> None:
    async def body(c: NetMcpClient) -> set[str]:
        return {t.name for t in await c.tools()}

    assert run(build_server(FakeNetwork(), role="ran"), body) == ROLES["ran"]
    assert "restart_amf" not in ROLES["ran"]


# --- capability negotiation -----------------------------------------------------------------------

def test_a_netmcp_client_detects_the_extension_and_its_version() -> None:
    async def body(c: NetMcpClient) -> tuple[bool, dict[str, Any]]:
        return c.netmcp, c.settings

    netmcp, settings = run(build_server(FakeNetwork(), role="core", server_id="core-a"), body)
    assert netmcp is True
    assert settings["version"] == "1.0" and settings["server_id"] == "core-a"


def test_on_a_handshake_era_wire_the_client_detects_netmcp_by_probing_hello() -> None:
    async def main() -> tuple[bool, dict[str, Any]]:
        c = NetMcpClient(build_server(FakeNetwork()))
        c._mcp_client = _legacy(c._mcp_client)  # force the 2025 initialize handshake
        async with c:
            return c.netmcp, c.settings

    netmcp, settings = asyncio.run(main())
    assert netmcp is True and settings["role"] == "all"


def _legacy(make: Callable[[], Client]) -> Callable[[], Client]:
    def legacy() -> Client:
        client = make()
        client.mode = "legacy"
        return client

    return legacy


def test_against_a_plain_mcp_server_the_client_falls_back_and_still_lists_searches_and_calls() -> None:
    plain = MCPServer("plain")

    @plain.tool()
    async def restart_cell(cell_id: str) -> str:
        """Restart a cell that is down."""
        return f"restarted {cell_id}"

    async def body(c: NetMcpClient) -> tuple[bool, list[str], str]:
        found = [t.name for t in await c.search("the cell is down")]
        result = await c.call("restart_cell", {"cell_id": "cell-0001-1"})
        return c.netmcp, found, result.content[0].text

    assert run(plain, body) == (False, ["restart_cell"], "restarted cell-0001-1")


# --- parameter verification -----------------------------------------------------------------------

@pytest.mark.parametrize(("tool", "args", "param", "rule"), [
    ("set_antenna_tilt", {"cell_id": "cell-0001-1", "tilt_deg": 10, "mechanical_tilt_deg": 8},
     "tilt_deg", "tilt_deg + mechanical_tilt_deg <= 15"),
    ("retune_frequency", {"cell_id": "cell-0001-1", "carrier_mhz": 3780, "bandwidth_mhz": 100},
     "carrier_mhz", "inside n78"),
    ("enable_load_balancing", {"cell_id": "cell-0001-1", "offload_ratio": 0.4, "max_neighbours": 2},
     "offload_ratio", "offload_ratio <= 0.1 * max_neighbours"),
    ("reroute_link", {"link_id": "link-0001", "max_utilization_ratio": 0.99},
     "max_utilization_ratio", "max_utilization_ratio in [0.5, 0.95]"),
], ids=["total-tilt", "channel-outside-band", "offload-beyond-neighbours", "utilisation-cap"])
def test_a_rule_breaking_call_is_refused_naming_parameter_and_rule_and_the_network_is_untouched(
        tool: str, args: dict[str, Any], param: str, rule: str) -> None:
    network = FakeNetwork()
    error = refused(build_server(network), tool, args).error
    assert error.code == INVALID_PARAMS
    assert error.data["param"] == param and rule in error.data["rule"]
    assert rule in error.message
    assert network.applied == []


def test_derived_parameters_are_filled_by_the_server_and_hidden_from_the_compact_listing() -> None:
    async def body(c: NetMcpClient) -> tuple[dict[str, Any], dict[str, Any]]:
        tools = {t.name: t for t in await c.tools()}
        result = await c.call("retune_frequency", {"cell_id": "cell-0001-1"})
        return tools["retune_frequency"].input_schema, result.structured_content

    schema, out = run(build_server(FakeNetwork()), body)
    assert set(schema["properties"]) == {"cell_id"}
    assert 3300 <= out["parameters"]["carrier_mhz"] <= 3800 and out["parameters"]["bandwidth_mhz"] == 40


def test_a_case_the_rules_cannot_decide_needs_human_confirmation() -> None:
    network = FakeNetwork()
    error = refused(build_server(network), "restart_amf", {"amf_id": "amf-1", "drain_s": 0}).error
    assert error.code == NEEDS_CONFIRMATION and "drain_s < 30" in error.message
    assert network.applied == []


def test_a_confirmed_call_runs_only_with_a_token_that_may_confirm() -> None:
    args = {"amf_id": "amf-1", "drain_s": 0}
    authority, server, network = secured(Clock(), (ACTUATOR, [NETWORK_ACT]))
    error = refused(server, "restart_amf", args, token=token_of(authority, ACTUATOR), confirmed=True).error
    assert error.code == NEEDS_CONFIRMATION
    assert network.applied == []

    authority, server, network = secured(Clock(), (ACTUATOR, [NETWORK_ACT, NETMCP_CONFIRM]))

    async def body(c: NetMcpClient) -> Any:
        return await c.call("restart_amf", args, confirmed=True)

    assert not run(server, body, token=token_of(authority, ACTUATOR)).is_error
    assert network.applied == [("restart_amf", "amf-1")]


def test_a_model_based_check_can_refuse_a_call_the_rules_allow() -> None:
    def twin(tool: str, args: Any) -> Verdict | None:
        if tool != "restart_cell":
            return None
        return Verdict("refuse", "cell_id", "twin", "the twin predicts worse latency")

    network = FakeNetwork()
    error = refused(build_server(network, checks=[twin]), "restart_cell", {"cell_id": "cell-0001-1"}).error
    assert "twin predicts worse latency" in error.message
    assert network.applied == []


# --- tokens and permission levels -----------------------------------------------------------------

def test_a_call_without_a_token_is_refused_and_logged() -> None:
    audit = AuditLog()
    authority = Authority(clock=Clock())
    network = FakeNetwork()
    server = build_server(network, verifier=authority.verifier(), audit=audit)
    error = refused(server, "restart_cell", {"cell_id": "cell-0001-1"}).error
    assert error.code == UNAUTHORIZED and "needs a bearer token" in error.message
    assert network.applied == []
    assert [r.outcome for r in audit] == ["unauthorized"]


def test_an_expired_token_is_refused_as_expired() -> None:
    clock = Clock()
    authority, server, network = secured(clock, (ACTUATOR, [NETWORK_ACT]))
    grant = authority.issue(ACTUATOR, SECRET)
    clock.now += grant.expires_in + 1

    async def stale() -> str:
        return grant.access_token

    error = refused(server, "restart_cell", {"cell_id": "cell-0001-1"}, token=stale).error
    assert error.code == UNAUTHORIZED and error.data["reason"] == "expired"
    assert network.applied == []


def test_a_token_that_was_accepted_is_refused_once_it_expires() -> None:
    clock = Clock()
    authority, server, network = secured(clock, (ACTUATOR, [NETWORK_ACT]))
    grant = authority.issue(ACTUATOR, SECRET)

    async def same() -> str:
        return grant.access_token

    async def body(c: NetMcpClient) -> tuple[Any, MCPError]:
        first = await c.call("reroute_link", {"link_id": "link-0001"})
        clock.now += grant.expires_in + 1
        with pytest.raises(MCPError) as later:
            await c.call("reroute_link", {"link_id": "link-0001"})
        return first, later.value

    first, later = run(server, body, token=same)
    assert not first.is_error
    assert later.error.code == UNAUTHORIZED and later.error.data["reason"] == "expired"
    assert network.applied == [("reroute_link", "link-0001")]


def test_a_token_without_the_tools_scope_is_refused_but_reads_stay_public() -> None:
    clock = Clock()
    authority, server, network = secured(clock, ("dashboard", [NETWORK_READ]))
    token = token_of(authority, "dashboard")
    error = refused(server, "restart_cell", {"cell_id": "cell-0001-1"}, token=token).error
    assert error.code == FORBIDDEN and "network:act" in error.message

    async def body(c: NetMcpClient) -> Any:
        return await c.call("list_active_alarms", {})

    assert not run(server, body).is_error
    assert network.applied == []


def test_an_agents_only_tool_runs_for_the_named_agent_and_no_other() -> None:
    clock = Clock()
    authority, server, network = secured(clock, (ACTUATOR, [NETWORK_ACT]), ("other", [NETWORK_ACT]))
    assert refused(server, "restart_smf", {"smf_id": "smf-1"},
                   token=token_of(authority, "other")).error.code == FORBIDDEN

    async def body(c: NetMcpClient) -> Any:
        return await c.call("restart_smf", {"smf_id": "smf-1"})

    assert not run(server, body, token=token_of(authority, ACTUATOR)).is_error
    assert network.applied == [("restart_smf", "smf-1")]


# --- idempotency, trace and execution context -----------------------------------------------------

def test_concurrent_calls_with_one_action_id_execute_once_and_return_the_first_result() -> None:
    network = FakeNetwork()

    async def body(c: NetMcpClient) -> list[Any]:
        return list(await asyncio.gather(*(c.call("failover_link", {"link_id": "link-0001"}, action_id="A-1")
                                           for _ in range(5))))

    results = run(build_server(network), body)
    assert network.applied == [("failover_link", "link-0001")]
    assert len({r.structured_content["trace_id"] for r in results}) == 1
    assert sum(bool((r.meta or {}).get("io.netloop/replayed")) for r in results) == 4


def test_a_trace_id_follows_the_call_into_the_network_change_and_the_audit() -> None:
    audit = AuditLog()
    context = ExecutionContext("INC-000007-link-0001")

    async def body(c: NetMcpClient) -> Any:
        return await c.call("reroute_link", {"link_id": "link-0001"}, trace_id="trace-42", context=context)

    result = run(build_server(FakeNetwork(), audit=audit), body)
    assert result.meta[META_TRACE] == "trace-42"
    assert result.structured_content["trace_id"] == "trace-42"
    (record,) = audit.trace("trace-42")
    assert (record.tool, record.outcome, record.context_id) == ("reroute_link", "ok", context.id)
    assert [s.tool for s in context.steps] == ["reroute_link"]


# --- context optimisation -------------------------------------------------------------------------

FAULT_TEXTS = {
    "cell_outage": "a cell is down and carries no traffic at all",
    "cell_congestion": "a cell is congested: PRB load near 100%, users see high latency",
    "interference": "interference on a cell: CQI dropped and BLER is high",
    "antenna_misconfig": "the antenna of a cell points wrong, coverage changed",
    "handover_failure": "handovers from a cell keep failing",
    "upf_overload": "the user plane function is overloaded",
    "amf_degradation": "UE registrations fail at the AMF",
    "smf_session_failure": "PDU sessions cannot be established at the SMF",
    "link_degradation": "a backhaul link is degraded: latency and packet loss went up",
    "link_down": "a backhaul link went down: loss of signal",
}


@pytest.mark.parametrize("fault", CATALOGUE, ids=lambda f: f.name)
def test_search_finds_the_remediation_tool_for_a_plain_description_of_each_fault(fault: Any) -> None:
    async def body(c: NetMcpClient) -> list[str]:
        return [t.name for t in await c.search(FAULT_TEXTS[fault.name], k=1)]

    assert run(build_server(FakeNetwork()), body) == [fault.remediation]


def test_the_listing_puts_the_callers_most_used_tools_first() -> None:
    async def body(c: NetMcpClient) -> tuple[list[str], list[str]]:
        before = [t.name for t in await c.tools()]
        for _ in range(2):
            await c.call("get_link_status", {"link_id": "link-0001"})
        await c.call("list_active_alarms", {})
        return before, [t.name for t in await c.tools()]

    before, after = run(build_server(FakeNetwork()), body)
    assert before == sorted(before)
    assert after[:2] == ["get_link_status", "list_active_alarms"]


# --- log notices ----------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
def test_a_client_that_sets_a_log_level_is_told_of_each_change_a_tool_makes() -> None:
    messages: list[Any] = []

    async def on_log(params: Any) -> None:
        messages.append(params)

    async def main() -> None:
        async with Client(build_server(FakeNetwork()), mode="legacy", logging_callback=on_log) as c:
            await c.call_tool("list_active_alarms", {})
            await c.set_logging_level("notice")
            await c.call_tool("reroute_link", {"link_id": "link-0001"})
            await c.set_logging_level("error")
            await c.call_tool("failover_link", {"link_id": "link-0001"})

    asyncio.run(main())
    notices = [(m.level, m.logger, m.data["tool"]) for m in messages]
    assert notices == [("notice", "netloop.network", "reroute_link")]
