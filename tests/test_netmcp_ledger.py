"""Idempotency bound to the request: a key names one call by one caller, and nobody else can spend it.

In-memory: the official SDK client against ``build_server(FakeNetwork())`` with tokens from an
:class:`~netmcp.auth.Authority`, as the actuator and an outsider would call.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from netmcp import ACTUATOR, NetMcpClient, build_server
from netmcp.auth import NETWORK_ACT, Authority
from netmcp.extension import NetMcpExtension
from netmcp.ledger import IdempotencyLedger
from netmcp.spec import KEY_REUSED
from tests.test_netmcp import FakeNetwork
from tests.test_netmcp_extension import SECRET, Clock, token_of

KEY = "INC-000181-link-0001/0"  # guessable: opening tick and root


def _secured(**kw: Any) -> tuple[Authority, Any, FakeNetwork]:
    authority = Authority(clock=Clock())
    authority.add_client(ACTUATOR, SECRET, [NETWORK_ACT])
    authority.add_client("other", SECRET, [NETWORK_ACT])
    network = FakeNetwork()
    return authority, build_server(network, verifier=authority.verifier(), **kw), network


async def _call(server: Any, tool: str, args: dict[str, Any], key: str | None, token: Any = None) -> Any:
    async with NetMcpClient(server, token=token) as c:
        return await c.call(tool, args, action_id=key)


def test_an_anonymous_read_with_the_actuators_key_does_not_stop_the_later_action() -> None:
    authority, server, network = _secured()

    async def go() -> Any:
        await _call(server, "get_link_status", {"link_id": "link-0001"}, KEY)
        return await _call(server, "reroute_link", {"link_id": "link-0001"}, KEY,
                           token_of(authority, ACTUATOR))

    result = asyncio.run(go())
    assert not (result.meta or {}).get("io.netloop/replayed")
    assert network.applied == [("reroute_link", "link-0001")]


def test_another_callers_use_of_a_key_never_answers_for_the_actuator() -> None:
    authority, server, network = _secured()

    async def go() -> Any:
        await _call(server, "restart_cell", {"cell_id": "cell-0001-1"}, KEY, token_of(authority, "other"))
        return await _call(server, "reroute_link", {"link_id": "link-0001"}, KEY,
                           token_of(authority, ACTUATOR))

    result = asyncio.run(go())
    assert not (result.meta or {}).get("io.netloop/replayed")
    assert network.applied == [("restart_cell", "cell-0001-1"), ("reroute_link", "link-0001")]


@pytest.mark.parametrize("tool, args", [
    ("failover_link", {"link_id": "link-0001"}),                              # another tool
    ("reroute_link", {"link_id": "link-0002"}),                               # another target
    ("reroute_link", {"link_id": "link-0001", "max_utilization_ratio": 0.6}),  # other arguments
], ids=["tool", "target", "arguments"])
def test_a_key_reused_for_a_different_request_is_refused_naming_the_key(tool: str,
                                                                         args: dict[str, Any]) -> None:
    authority, server, network = _secured()
    token = token_of(authority, ACTUATOR)

    async def go() -> MCPError:
        await _call(server, "reroute_link", {"link_id": "link-0001"}, KEY, token)
        with pytest.raises(MCPError) as exc:
            await _call(server, tool, args, KEY, token)
        return exc.value

    error = asyncio.run(go()).error
    assert error.code == KEY_REUSED and KEY in error.message and "different request" in error.message
    assert network.applied == [("reroute_link", "link-0001")]


def test_the_same_request_again_is_answered_with_the_first_result() -> None:
    authority, server, network = _secured()
    token = token_of(authority, ACTUATOR)

    async def go() -> tuple[Any, Any]:
        first = await _call(server, "reroute_link", {"link_id": "link-0001"}, KEY, token)
        return first, await _call(server, "reroute_link", {"link_id": "link-0001"}, KEY, token)

    first, again = asyncio.run(go())
    assert again.meta["io.netloop/replayed"] is True
    assert again.structured_content == first.structured_content
    assert network.applied == [("reroute_link", "link-0001")]


def test_a_flood_of_anonymous_keyed_reads_never_makes_an_action_run_twice(monkeypatch) -> None:
    monkeypatch.setitem(NetMcpExtension.__init__.__kwdefaults__, "ledger_size", 50)
    authority, server, network = _secured()
    token = token_of(authority, ACTUATOR)

    async def go() -> Any:
        await _call(server, "reroute_link", {"link_id": "link-0001"}, KEY, token)
        async with NetMcpClient(server) as c:
            for n in range(120):
                await c.call("get_entity_kpis", {"entity_id": "cell-0001-1"}, action_id=f"flood-{n}")
        return await _call(server, "reroute_link", {"link_id": "link-0001"}, KEY, token)

    again = asyncio.run(go())
    assert again.meta["io.netloop/replayed"] is True
    assert network.applied == [("reroute_link", "link-0001")]


def test_a_caller_that_fills_its_own_ledger_is_refused_rather_than_forgetting_an_action() -> None:
    now = [0.0]
    ledger = IdempotencyLedger(capacity=3, retention_s=3600.0, clock=lambda: now[0])
    for n in range(3):
        ledger.remember("actuator", f"A-{n}", "digest", object())
    with pytest.raises(MCPError) as exc:
        ledger.check_room("actuator")
    assert "full" in exc.value.error.message
    ledger.check_room("anonymous")  # another caller's ledger is its own
    now[0] += 3601.0
    ledger.check_room("actuator")  # entries past retention may go
    ledger.remember("actuator", "A-3", "digest", object())
    assert ledger.first("actuator", "A-0") is None and ledger.first("actuator", "A-3") is not None
    assert len(ledger) == 3
