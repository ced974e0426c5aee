"""NF tools registered with a tool server: accepted when in scope, listed, verified and forwarded."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import Field

from netmcp import NETMCP, NetMcpClient, build_server
from netmcp.auth import NETMCP_REGISTER, NETWORK_ACT, Authority
from netmcp.delegation import ParamDecl, RegisterToolParams
from netmcp.spec import FORBIDDEN
from tests.test_netmcp import FakeNetwork

ENDPOINT = "http://gnb-0001.nf.internal/mcp"
POWER = RegisterToolParams(
    name="set_cell_power", description="Set a cell's transmit power to trade coverage against interference.",
    labels=["cell", "power"], domain="ran", endpoint=ENDPOINT,
    parameters={"cell_id": ParamDecl(type="string", description="cell id"),
                "power_dbm": ParamDecl(type="number", description="transmit power, dBm",
                                       minimum=10, maximum=46)})
BILLING = RegisterToolParams(
    name="issue_invoice", description="Issue an invoice to a subscriber for last month's usage.",
    labels=["billing"], domain="any", endpoint=ENDPOINT)


def gnb() -> tuple[MCPServer, list[tuple[str, float]]]:
    """The NF: its own MCP server, recording what it was asked to do."""
    nf, calls = MCPServer("gnb-0001"), []

    @nf.tool()
    async def set_cell_power(cell_id: str, power_dbm: Annotated[float, Field()]) -> str:
        calls.append((cell_id, power_dbm))
        return f"{cell_id} at {power_dbm:g} dBm"

    return nf, calls


def test_an_nf_tool_in_the_servers_scope_is_accepted_listed_and_forwarded_to_the_nf() -> None:
    nf, calls = gnb()
    server = build_server(FakeNetwork(), role="ran", nf_connect={ENDPOINT: nf}.__getitem__)

    async def main() -> tuple[Any, Any, Any]:
        async with NetMcpClient(server) as c:
            answer = await c.register_tool(POWER)
        async with Client(server) as plain:  # an MCP client with no NetMCP knowledge sees it too
            tools = {t.name: t for t in (await plain.list_tools()).tools}
            result = await plain.call_tool("set_cell_power", {"cell_id": "cell-0001-1", "power_dbm": 40})
        return answer, tools["set_cell_power"], result

    answer, tool, result = asyncio.run(main())
    assert answer.accepted, answer.reason
    assert set(tool.input_schema["properties"]) == {"cell_id", "power_dbm"}
    assert tool.meta[NETMCP]["constraints"][0]["rule"] == "power_dbm in [10, 46]"
    assert result.content[0].text == "cell-0001-1 at 40 dBm"
    assert calls == [("cell-0001-1", 40.0)]


def test_a_forwarded_call_out_of_the_nfs_declared_range_is_refused_before_reaching_the_nf() -> None:
    nf, calls = gnb()
    server = build_server(FakeNetwork(), role="ran", nf_connect={ENDPOINT: nf}.__getitem__)

    async def main() -> MCPError:
        async with NetMcpClient(server) as c:
            await c.register_tool(POWER)
            with pytest.raises(MCPError) as refused:
                await c.call("set_cell_power", {"cell_id": "cell-0001-1", "power_dbm": 60})
            return refused.value

    error = asyncio.run(main()).error
    assert error.code == INVALID_PARAMS and error.data["param"] == "power_dbm"
    assert calls == []


def test_a_tool_outside_the_servers_scope_is_refused_with_the_reason() -> None:
    server = build_server(FakeNetwork(), role="core")

    async def main() -> tuple[Any, set[str]]:
        async with NetMcpClient(server) as c:
            return await c.register_tool(BILLING), {t.name for t in await c.tools()}

    answer, names = asyncio.run(main())
    assert not answer.accepted and answer.reason
    assert "issue_invoice" not in names


def test_registering_a_tool_needs_the_register_scope_when_tokens_are_checked() -> None:
    authority = Authority()
    authority.add_client("ops", "ops-secret-0123456789", [NETWORK_ACT])
    authority.add_client("gnb-0001", "gnb-secret-0123456789", [NETMCP_REGISTER])
    server = build_server(FakeNetwork(), role="ran", verifier=authority.verifier())

    async def offer(client_id: str, secret: str) -> Any:
        async def token() -> str:
            return authority.issue(client_id, secret).access_token

        async with NetMcpClient(server, token=token) as c:
            try:
                return await c.register_tool(POWER)
            except MCPError as exc:
                return exc

    refused = asyncio.run(offer("ops", "ops-secret-0123456789"))
    assert isinstance(refused, MCPError) and refused.error.code == FORBIDDEN
    assert asyncio.run(offer("gnb-0001", "gnb-secret-0123456789")).accepted
