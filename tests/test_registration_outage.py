"""A tool server outlives its management server's outage: load reports fail, back off, and resume;
a management server that lost its registry (restarted) gets the registration again.

Real HTTP on loopback: the management app under uvicorn, stopped and started again on the same port
with the same signing key and an empty registry, as a restarted process would be.
"""

from __future__ import annotations

import asyncio

from netmcp import AuditLog
from netmcp.auth import NETMCP_REGISTER, Authority
from netmcp.management import build_management_app
from netmcp.registry import Registry
from netmcp.serving import start_http
from streams.tools.registration import Registration
from streams.tools.serve import ToolServing
from tests.mcp_wire import free_port

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
            await reg.verifier()
            await reg.register({})
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
