"""NetMCP inside the embedded run: discovery, tokens and load-aware routing across a redundant pair."""

from __future__ import annotations

import asyncio

from netmcp import ACTUATOR
from schemas import ACTION_ID_META
from simulator import Network, load_scenario
from streams.tools.runtime import NetMcpRuntime


def smoke_network() -> Network:
    network = Network.from_scenario(load_scenario("smoke").idealized())
    network.step()
    return network


async def scale_out(rt: NetMcpRuntime, action_id: str) -> str:
    assert rt.caller is not None
    result = await rt.caller.call_tool("scale_out_upf", {"upf_id": "upf-1"}, meta={ACTION_ID_META: action_id})
    assert not result.is_error, result.content
    return rt.caller.routed[-1][1]


def test_calls_go_to_the_less_loaded_server_of_the_redundant_core_pair() -> None:
    async def main() -> tuple[str, str, str]:
        async with NetMcpRuntime(smoke_network()) as rt:
            first = await scale_out(rt, "A/0")
            await rt.report_loads()  # the server that took the call now reports load
            second = await scale_out(rt, "B/0")
            await rt.report_loads()
            third = await scale_out(rt, "C/0")
            return first, second, third

    first, second, third = asyncio.run(main())
    assert {first, second} == {"core-a", "core-b"}
    assert third == first  # loads flipped back: each pair member took one call per report


def test_ran_tools_are_routed_to_the_ran_server_only() -> None:
    async def main() -> list[tuple[str, str]]:
        async with NetMcpRuntime(smoke_network()) as rt:
            assert rt.caller is not None
            await rt.caller.call_tool("restart_cell", {"cell_id": "cell-0001-1"},
                                      meta={ACTION_ID_META: "X/0"})
            return list(rt.caller.routed)

    assert asyncio.run(main()) == [("restart_cell", "ran-1")]


def test_over_loopback_http_the_actuator_discovers_gets_a_token_and_calls() -> None:
    async def main() -> tuple[str, list[str]]:
        async with NetMcpRuntime(smoke_network(), http=True) as rt:
            server = await scale_out(rt, "H/0")
            return server, [r.client_id for audit in rt.audits.values() for r in audit]

    server, callers = asyncio.run(main())
    assert server in {"core-a", "core-b"}
    assert callers == [ACTUATOR]
