"""``netloop netmcp serve --role tool``: a simulated network stepping in real time behind a tool server.

Over streamable HTTP or stdio. With a management server, the tool server
verifies tokens with the management server's public keys, registers itself
with its metadata, reports its load every few seconds and deregisters when it
stops; it serves whether or not the management server is up
(:mod:`streams.tools.registration`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from mcp.server.mcpserver import MCPServer

from netmcp import AuditLog, build_server
from netmcp.serving import start_http
from simulator import Network, Scenario
from streams.tools.registration import Registration

log = logging.getLogger("netloop.serve")


@dataclass(frozen=True)
class ToolServing:
    """How a tool server is served: which tools, where, and who manages it."""

    role: str = "all"
    server_id: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    management_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    service_area: tuple[str, ...] = field(default=("default",))
    vendor: str = "netloop-simulator"
    max_load: float = 200.0
    report_every_s: float = 5.0
    """Load reports (heartbeats) to the management server, this often."""
    max_backoff_s: float = 60.0
    """While the management server cannot be reached, tries back off up to this."""


async def serve_network(scenario: Scenario, *, port: int, speed: float, host: str = "127.0.0.1",
                        ready: asyncio.Event | None = None, serving: ToolServing | None = None) -> None:
    """Step ``scenario``'s network at ``speed`` ticks/s and serve its tools over HTTP until cancelled."""
    serving = serving or ToolServing(host=host, port=port)
    network = Network.from_scenario(scenario)
    network.step()
    audit = AuditLog(capacity=1000)
    async with managed(serving, audit) as (verifier, register):
        server = build_server(network, role=serving.role, server_id=serving.server_id, verifier=verifier,
                              audit=audit)
        await register(server)
        app = server.streamable_http_app(host=host)
        _, serving_task = await start_http(app, host, port)
        if ready is not None:
            ready.set()
        ticker = asyncio.create_task(_tick(network, speed))
        try:
            await serving_task
        finally:
            ticker.cancel()
            serving_task.cancel()


async def serve_network_stdio(scenario: Scenario, *, speed: float, serving: ToolServing) -> None:
    """The same tools over stdio (one client: the process that started this one)."""
    network = Network.from_scenario(scenario)
    network.step()
    audit = AuditLog(capacity=1000)
    async with managed(serving, audit) as (verifier, register):
        server: MCPServer = build_server(network, role=serving.role, server_id=serving.server_id,
                                         verifier=verifier, audit=audit)
        await register(server)
        ticker = asyncio.create_task(_tick(network, speed))
        try:
            await server.run_stdio_async()
        finally:
            ticker.cancel()


@contextlib.asynccontextmanager
async def managed(serving: ToolServing, audit: AuditLog):  # type: ignore[no-untyped-def]
    """``(verifier, register)``: none and a no-op without a management server; with one, a
    verifier of its tokens (refusing all until its keys are fetched) and a coroutine that starts
    registering the built server in the background and returns after the first attempt (so a
    server that says it is ready is registered when the management server is up; it is
    deregistered on the way out)."""
    if serving.management_url is None:
        yield None, _unmanaged
        return
    reg = Registration(serving, audit, interval_s=serving.report_every_s,
                       max_backoff_s=serving.max_backoff_s)
    try:
        async def register(server: MCPServer) -> None:
            reg.start({t.name: t.description or t.name for t in await server.list_tools()})
            await reg.first_attempt()

        yield reg.verifier, register
    finally:
        await reg.stop()


async def _unmanaged(server: MCPServer) -> None:
    """Nothing to register without a management server."""


async def _tick(network: Network, speed: float) -> None:
    while not network.done:
        await asyncio.sleep(1.0 / speed)
        network.step()

