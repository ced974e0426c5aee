"""NetMCP: the tool server over a fake network (in-memory client), the simulator, and HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from netmcp import build_server
from schemas import EntityKind, TopologyEntity
from simulator import CATALOGUE, Network, load_scenario
from streams.tools.serve import serve_network

READ_TOOLS = ("get_entity_kpis", "get_topology_neighbourhood", "list_active_alarms",
              "get_maintenance_calendar")
RESTARTS = {"restart_cell", "restart_amf", "restart_smf"}
# The argument that names the target of a remediation, and a well-formed target the fake knows.
TARGET_OF_KIND = {
    EntityKind.CELL: ("cell_id", "cell-0001-1"),
    EntityKind.LINK: ("link_id", "link-0001"),
    EntityKind.UPF: ("upf_id", "upf-1"),
    EntityKind.SMF: ("smf_id", "smf-1"),
    EntityKind.AMF: ("amf_id", "amf-1"),
}


class FakeNetwork:
    """A tiny NetworkPort: one site, one cell; records every apply() call it receives."""

    def __init__(self) -> None:
        self.tick = 7
        self.applied: list[tuple[str, str]] = []
        self._records = [
            TopologyEntity(entity_id="cell-0001-1", kind=EntityKind.CELL, site="site-0001",
                           depends_on=["gnb-0001"]),
            TopologyEntity(entity_id="gnb-0001", kind=EntityKind.GNB, site="site-0001",
                           depends_on=["link-0001"]),
            TopologyEntity(entity_id="link-0001", kind=EntityKind.LINK, site="site-0001",
                           depends_on=["upf-1", "smf-1", "amf-1"]),
            TopologyEntity(entity_id="upf-1", kind=EntityKind.UPF),
            TopologyEntity(entity_id="smf-1", kind=EntityKind.SMF),
            TopologyEntity(entity_id="amf-1", kind=EntityKind.AMF),
        ]
        self._kpis = {"cell-0001-1": {"throughput_mbps": 123.0, "latency_ms": 9.5}}

    def _known(self, entity_id: str) -> None:
        if entity_id not in {r.entity_id for r in self._records}:
            raise KeyError(entity_id)

    def apply(self, tool: str, target: str, parameters: object = None) -> object:
        self.applied.append((tool, target))
        self._known(target)
        return None

    def latest_kpis(self, entity_id: str) -> dict[str, float]:
        self._known(entity_id)
        return dict(self._kpis.get(entity_id, {}))

    def alarms(self) -> list[tuple[str, str]]:
        return [("cell-0001-1", "cell disabled")]

    def topology_records(self) -> list[TopologyEntity]:
        return list(self._records)

    def maintenance_calendar(self) -> list:
        return []


def with_client(network: Any, body: Callable[[Client], Awaitable[Any]]) -> Any:
    """Run ``body`` with an in-memory MCP client connected to ``build_server(network)``."""

    async def main() -> Any:
        async with Client(build_server(network)) as client:
            return await body(client)

    return asyncio.run(main())


def list_tools(network: Any) -> dict[str, Any]:
    async def body(c: Client) -> Any:
        return (await c.list_tools()).tools

    return {t.name: t for t in with_client(network, body)}


def call(network: Any, tool: str, arguments: dict[str, Any]) -> Any:
    async def body(c: Client) -> Any:
        return await c.call_tool(tool, arguments)

    return with_client(network, body)


def refusal(network: Any, tool: str, arguments: dict[str, Any]) -> MCPError:
    """The JSON-RPC error a call is refused with (caught inside the client's context)."""

    async def body(c: Client) -> MCPError:
        with pytest.raises(MCPError) as refused:
            await c.call_tool(tool, arguments)
        return refused.value

    return with_client(network, body)


def error_text(result: Any) -> str:
    assert result.is_error, f"expected an error, got {result.structured_content}"
    return " ".join(getattr(c, "text", "") for c in result.content)


# --- tool listing and annotations ---------------------------------------------------------

def test_every_catalogue_remediation_and_the_read_tools_are_listed() -> None:
    tools = list_tools(FakeNetwork())
    expected = {f.remediation for f in CATALOGUE} | set(READ_TOOLS)
    assert expected <= set(tools)


@pytest.mark.parametrize("name", READ_TOOLS)
def test_read_tools_are_marked_read_only(name: str) -> None:
    hints = list_tools(FakeNetwork())[name].annotations
    assert hints.read_only_hint is True
    assert hints.destructive_hint is False


@pytest.mark.parametrize("fault", CATALOGUE, ids=lambda f: f.remediation)
def test_remediation_tools_change_the_network_idempotently(fault: Any) -> None:
    hints = list_tools(FakeNetwork())[fault.remediation].annotations
    assert hints.read_only_hint is False
    assert hints.idempotent_hint is True
    assert hints.destructive_hint is (fault.remediation in RESTARTS)


def test_remediation_tools_declare_a_structured_output_schema() -> None:
    tools = list_tools(FakeNetwork())
    for fault in CATALOGUE:
        schema = tools[fault.remediation].output_schema
        assert schema is not None and "applied" in schema["properties"], fault.remediation


# --- remediation calls ----------------------------------------------------------------------

@pytest.mark.parametrize("fault", CATALOGUE, ids=lambda f: f.remediation)
def test_a_remediation_call_reaches_the_network_once_and_reports_applied(fault: Any) -> None:
    network = FakeNetwork()
    argument, target = TARGET_OF_KIND[fault.root_kind]
    result = call(network, fault.remediation, {argument: target})
    assert not result.is_error, result.content
    assert network.applied == [(fault.remediation, target)]
    out = result.structured_content
    assert out["applied"] is True
    assert (out["tool"], out["target"], out["tick"]) == (fault.remediation, target, network.tick)


@pytest.mark.parametrize(("tool", "arguments"), [
    ("restart_cell", {"cell_id": "cell-1"}),
    ("restart_cell", {"cell_id": "link-0001"}),
    ("reroute_link", {"link_id": "cell-0001-1"}),
    ("scale_out_upf", {"upf_id": "upf-one"}),
], ids=["short-cell-id", "link-id-as-cell", "cell-id-as-link", "non-numeric-upf"])
def test_a_malformed_id_is_refused_before_reaching_the_network(tool: str, arguments: dict) -> None:
    network = FakeNetwork()
    result = call(network, tool, arguments)
    assert result.is_error
    assert network.applied == []


@pytest.mark.parametrize(("tool", "arguments", "field"), [
    ("set_antenna_tilt", {"cell_id": "cell-0001-1", "tilt_deg": 40}, "tilt_deg"),
    ("set_antenna_tilt", {"cell_id": "cell-0001-1", "tilt_deg": -1}, "tilt_deg"),
    ("scale_out_upf", {"upf_id": "upf-1", "instances": 0}, "instances"),
    ("scale_out_upf", {"upf_id": "upf-1", "instances": 5}, "instances"),
], ids=["tilt-40", "tilt-negative", "instances-0", "instances-5"])
def test_an_out_of_range_parameter_is_refused_before_reaching_the_network(
        tool: str, arguments: dict, field: str) -> None:
    network = FakeNetwork()
    error = refusal(network, tool, arguments).error
    assert error.code == INVALID_PARAMS
    assert field in error.message
    assert error.data["param"] == field
    assert network.applied == []


def test_an_in_range_tilt_is_accepted() -> None:
    network = FakeNetwork()
    result = call(network, "set_antenna_tilt", {"cell_id": "cell-0001-1", "tilt_deg": 15})
    assert not result.is_error, result.content
    assert network.applied == [("set_antenna_tilt", "cell-0001-1")]


def test_an_unknown_well_formed_target_is_an_error_naming_the_target() -> None:
    network = FakeNetwork()
    result = call(network, "restart_cell", {"cell_id": "cell-0099-1"})
    assert "cell-0099-1" in error_text(result)
    assert network.applied == [("restart_cell", "cell-0099-1")]


# --- read tools -------------------------------------------------------------------------------

def test_entity_kpis_are_the_networks_latest_at_its_tick() -> None:
    out = call(FakeNetwork(), "get_entity_kpis", {"entity_id": "cell-0001-1"}).structured_content
    assert out == {"entity_id": "cell-0001-1", "tick": 7,
                   "kpis": {"throughput_mbps": 123.0, "latency_ms": 9.5}}


def test_kpis_of_an_unknown_entity_are_an_error_naming_it() -> None:
    result = call(FakeNetwork(), "get_entity_kpis", {"entity_id": "cell-0099-1"})
    assert "cell-0099-1" in error_text(result)


def test_the_neighbourhood_lists_upstream_dependencies_and_direct_dependents() -> None:
    out = call(FakeNetwork(), "get_topology_neighbourhood",
               {"entity_id": "link-0001"}).structured_content
    assert out == {"entity_id": "link-0001", "kind": "link",
                   "depends_on": ["upf-1", "smf-1", "amf-1"], "dependents": ["gnb-0001"]}


def test_active_alarms_are_listed_with_the_tick() -> None:
    out = call(FakeNetwork(), "list_active_alarms", {}).structured_content
    assert out == {"tick": 7, "alarms": [{"entity_id": "cell-0001-1", "text": "cell disabled"}]}


# --- against the simulator ----------------------------------------------------------------------

def test_rerouting_a_degraded_link_through_mcp_ends_the_simulated_fault() -> None:
    network = Network.from_scenario(load_scenario("smoke").idealized())
    while network.tick <= 180:  # smoke: link_degradation on link-0003 from tick 180
        network.step()
    (fault,) = [r for r in network.truth if r.root == "link-0003"]
    assert fault.type == "link_degradation" and fault.ended_by is None

    result = call(network, "reroute_link", {"link_id": "link-0003"})

    assert not result.is_error, result.content
    assert fault.ended_by == "action"
    assert fault.end == network.tick
    assert "link-0003" not in {r.root for r in network.active_faults()}


# --- streamable HTTP ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start(task: asyncio.Task, ready: asyncio.Event, timeout_s: float) -> None:
    """Wait until the server is ready; surface its exception if it died first."""
    waiter = asyncio.ensure_future(ready.wait())
    done, _ = await asyncio.wait({waiter, task}, timeout=timeout_s,
                                 return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task in done:
        task.result()  # raises the server's failure
        pytest.fail("the server stopped before it was ready")
    if waiter not in done:
        pytest.fail(f"the server was not ready within {timeout_s}s")


async def stop(task: asyncio.Task, timeout_s: float) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout_s)


def test_the_served_network_answers_tool_calls_over_streamable_http() -> None:
    port = free_port()

    async def main() -> tuple[set[str], Any]:
        ready = asyncio.Event()
        task = asyncio.create_task(
            serve_network(load_scenario("smoke"), port=port, speed=50, ready=ready))
        try:
            await start(task, ready, timeout_s=20)
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                names = {t.name for t in (await client.list_tools()).tools}
                kpis = await client.call_tool("get_entity_kpis", {"entity_id": "cell-0001-1"})
        finally:
            await stop(task, timeout_s=20)
        return names, kpis

    names, kpis = asyncio.run(main())
    assert {f.remediation for f in CATALOGUE} | set(READ_TOOLS) <= names
    assert not kpis.is_error, kpis.content
    out = kpis.structured_content
    assert out["entity_id"] == "cell-0001-1"
    assert out["tick"] >= 1
    assert "throughput_mbps" in out["kpis"]


def test_the_same_action_id_is_applied_to_the_network_only_once() -> None:
    from schemas import ACTION_ID_META

    net = FakeNetwork()

    async def main():
        async with Client(build_server(net)) as c:
            meta = {ACTION_ID_META: "INC-00001/0"}
            first = await c.call_tool("reroute_link", {"link_id": "link-0001"}, meta=meta)
            again = await c.call_tool("reroute_link", {"link_id": "link-0001"}, meta=meta)
            other = await c.call_tool("reroute_link", {"link_id": "link-0001"},
                                      meta={ACTION_ID_META: "INC-00002/0"})
            plain = await c.call_tool("reroute_link", {"link_id": "link-0001"})
            return first, again, other, plain

    first, again, other, plain = asyncio.run(main())
    assert not (first.is_error or again.is_error or other.is_error or plain.is_error)
    assert again.meta["io.netloop/replayed"] is True
    assert again.structured_content == first.structured_content
    assert len(net.applied) == 3  # first, the other action id, and the call without an id
