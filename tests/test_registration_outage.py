"""A tool server outlives its management server's outage: load reports fail, back off, and resume;
a management server that lost its registry (restarted) gets the registration again; a tool server
started while the management server is down serves at once and registers once it comes up.

Real HTTP on loopback: the management app under uvicorn, stopped and started again on the same port
with the same signing key and an empty registry, as a restarted process would be.
"""

from __future__ import annotations

import asyncio

import pytest

from netmcp import AuditLog, build_server
from netmcp.auth import NETMCP_REGISTER, NETWORK_READ, Authority
from netmcp.management import build_management_app
from netmcp.registry import Registry, ServerRecord
from netmcp.serving import start_http
from netmcp.tokens import TokenRejected
from streams.tools.registration import Registration
from streams.tools.serve import ToolServing, managed
from tests.mcp_wire import free_port
from tests.test_netmcp import FakeNetwork

SECRET = "registrar-secret-0123456789"


async def _management(authority: Authority, registry: Registry, port: int):
    app = build_management_app(registry, authority, admin_secret="admin-secret-0123456789")
    return await start_http(app, "127.0.0.1", port)


async def _until(reg: Registration, outcome: str) -> None:
    async with asyncio.timeout(30):
        while reg.last_outcome != outcome:
            await reg.reported.wait()
            reg.reported.clear()


def test_load_reports_survive_a_management_outage_and_a_restarted_management_server_gets_re_registered(
) -> None:
    authority = Authority()
    authority.add_client("tool-servers", SECRET, [NETMCP_REGISTER])
    port = free_port()
    serving = ToolServing(role="ran", server_id="ran-1", port=free_port(),
                          management_url=f"http://127.0.0.1:{port}", client_id="tool-servers",
                          client_secret=SECRET)

    async def go() -> list[str]:
        first = Registry()
        server, task = await _management(authority, first, port)
        reg = Registration(serving, AuditLog(), interval_s=0.05, max_backoff_s=0.2)
        try:
            reg.start({})
            await _until(reg, "registered")
            await _until(reg, "ok")
            server.should_exit = True
            await task  # the management server is down
            await _until(reg, "failed")
            await _until(reg, "failed")  # and the reports go on failing, backing off, not dying
            assert reg.running
            again = Registry()  # restarted: it knows no tool server
            server, task = await _management(authority, again, port)
            await _until(reg, "registered")
            await _until(reg, "ok")
            return [s.record.server_id for s in again.servers()]
        finally:
            await reg.stop()
            server.should_exit = True
            await task

    assert asyncio.run(go()) == ["ran-1"]


class _Signalling(Registry):
    """A registry that says when a server registers: the test waits on that, not on time."""

    def __init__(self) -> None:
        super().__init__()
        self.registered = asyncio.Event()

    def register(self, record: ServerRecord) -> None:
        super().register(record)
        self.registered.set()


def test_a_tool_server_started_while_the_management_server_is_down_registers_once_it_comes_up() -> None:
    authority = Authority()
    authority.add_client("tool-servers", SECRET, [NETMCP_REGISTER])
    authority.add_client("reader", SECRET, [NETWORK_READ])
    port = free_port()
    serving = ToolServing(role="ran", server_id="ran-1", port=free_port(),
                          management_url=f"http://127.0.0.1:{port}", client_id="tool-servers",
                          client_secret=SECRET, report_every_s=0.05, max_backoff_s=0.2)
    token = authority.issue("reader", SECRET).access_token

    async def go() -> tuple[str, list[str], str]:
        audit, registry = AuditLog(), _Signalling()
        async with managed(serving, audit) as (verifier, register):
            await register(build_server(FakeNetwork(), role="ran", server_id="ran-1", verifier=verifier,
                                        audit=audit))  # the management server is down: nothing to reach
            with pytest.raises(TokenRejected) as before:
                verifier.check(token)  # no keys yet: every token is refused, none is let through
            server, task = await _management(authority, registry, port)
            try:
                async with asyncio.timeout(30):
                    await registry.registered.wait()
                return before.value.reason, [s.record.server_id for s in registry.servers()], \
                    verifier.check(token).client_id
            finally:
                server.should_exit = True
                await task

    assert asyncio.run(go()) == ("unavailable", ["ran-1"], "reader")


def test_a_management_server_restarted_with_a_new_signing_key_is_registered_with_and_its_tokens_taken(
) -> None:
    def authority() -> Authority:
        a = Authority()  # a fresh signing key each time
        a.add_client("tool-servers", SECRET, [NETMCP_REGISTER])
        a.add_client("reader", SECRET, [NETWORK_READ])
        return a

    port = free_port()
    serving = ToolServing(role="ran", server_id="ran-1", port=free_port(),
                          management_url=f"http://127.0.0.1:{port}", client_id="tool-servers",
                          client_secret=SECRET, report_every_s=0.05, max_backoff_s=0.2)

    async def go() -> tuple[str, str]:
        audit, first, again = AuditLog(), authority(), authority()
        server, task = await _management(first, Registry(), port)
        try:
            async with managed(serving, audit) as (verifier, register):
                await register(build_server(FakeNetwork(), role="ran", server_id="ran-1",
                                            verifier=verifier, audit=audit))
                server.should_exit = True
                await task
                registry = _Signalling()
                server, task = await _management(again, registry, port)
                async with asyncio.timeout(30):
                    await registry.registered.wait()
                with pytest.raises(TokenRejected) as old:
                    verifier.check(first.issue("reader", SECRET).access_token)
                return old.value.reason, verifier.check(again.issue("reader", SECRET).access_token).client_id
        finally:
            server.should_exit = True
            await task

    assert asyncio.run(go()) == ("bad_signature", "reader")
