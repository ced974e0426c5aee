"""Parameter checks that cannot be bypassed: NaN, huge numbers, defaults in rules, unknown parameters.

In-memory, the official SDK client against ``build_server(FakeNetwork())``; and raw JSON-RPC over
streamable HTTP for what the SDK's client would never send (its serialiser turns NaN into null).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from netmcp import AuditLog, NetMcpClient, build_server
from tests.mcp_wire import wire_to
from tests.test_netmcp import FakeNetwork


def _refusal(tool: str, args: dict[str, Any]) -> tuple[MCPError, FakeNetwork]:
    network = FakeNetwork()

    async def go() -> MCPError:
        async with Client(build_server(network)) as c:  # a plain client: it never lists the tools first
            with pytest.raises(MCPError) as exc:
                await c.call_tool(tool, args)
            return exc.value

    return asyncio.run(go()), network


def _over_the_wire(tool: str, arguments_json: str) -> tuple[dict[str, Any], FakeNetwork]:
    network = FakeNetwork()

    async def go() -> dict[str, Any]:
        async with wire_to(build_server(network)) as wire:
            answer = await wire.call(tool, arguments_json)
            assert answer is not None
            return answer

    return asyncio.run(go()), network


@pytest.mark.parametrize("spelled", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_non_finite_number_is_refused_before_reaching_the_network(spelled: str) -> None:
    answer, network = _over_the_wire("reroute_link",
                                     f'{{"link_id":"link-0001","max_utilization_ratio":{spelled}}}')
    assert answer["error"]["code"] == INVALID_PARAMS
    assert "max_utilization_ratio must be a finite number" in answer["error"]["message"]
    assert network.applied == []


def test_an_integer_past_the_float_range_is_refused_as_invalid_params_without_a_traceback() -> None:
    answer, network = _over_the_wire("set_antenna_tilt",
                                     f'{{"cell_id":"cell-0001-1","tilt_deg":1{"0" * 400}}}')
    error = answer["error"]
    assert error["code"] == INVALID_PARAMS
    assert "tilt_deg must be a finite number, got an integer of about 401 digits" in error["message"]
    assert network.applied == []


def test_an_inter_parameter_rule_holds_when_one_parameter_is_left_to_its_default() -> None:
    # offload_ratio defaults to 0.2; with one neighbour a neighbour would take 20% > 10%
    error, network = _refusal("enable_load_balancing", {"cell_id": "cell-0001-1", "max_neighbours": 1})
    assert error.error.code == INVALID_PARAMS
    assert error.error.data["rule"].startswith("offload_ratio <= 0.1 * max_neighbours")
    assert network.applied == []


def test_an_unknown_parameter_is_refused_naming_it() -> None:
    error, network = _refusal("restart_cell", {"cell_id": "cell-0001-1", "force": True})
    assert error.error.code == INVALID_PARAMS
    assert "unknown parameter 'force'" in error.error.message and error.error.data["param"] == "force"
    assert network.applied == []


def test_a_netmcp_client_gets_the_same_refusals_as_a_plain_one() -> None:
    network = FakeNetwork()

    async def go() -> list[int]:
        codes = []
        async with NetMcpClient(build_server(network)) as c:
            for args in ({"link_id": "link-0001", "via": "link-0002"},
                         {"link_id": "link-0001", "max_utilization_ratio": 0.99}):
                with pytest.raises(MCPError) as exc:
                    await c.call("reroute_link", args)
                codes.append(exc.value.error.code)
        return codes

    assert asyncio.run(go()) == [INVALID_PARAMS, INVALID_PARAMS]
    assert network.applied == []


def test_a_refused_call_with_a_huge_argument_is_audited_in_a_bounded_record() -> None:
    audit = AuditLog(capacity=10)
    network = FakeNetwork()
    huge = {"cell_id": "x" * 500_000, **{f"p{n}": n for n in range(500)}}

    async def go() -> None:
        async with Client(build_server(network, audit=audit)) as c:
            for _ in range(3):
                with pytest.raises(MCPError):
                    await c.call_tool("restart_cell", huge)

    asyncio.run(go())
    assert [r.outcome for r in audit] == ["refused"] * 3
    for record in audit:
        assert len(json.dumps(record.arguments)) < 4096
        assert len(record.reason) <= 500
    assert network.applied == []
