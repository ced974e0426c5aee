"""``netloop netmcp serve``: a simulated network stepping in real time behind streamable HTTP."""

from __future__ import annotations

import asyncio

import uvicorn

from netmcp import build_server
from simulator import Network, Scenario


async def serve_network(scenario: Scenario, *, port: int, speed: float, host: str = "127.0.0.1",
                        ready: asyncio.Event | None = None) -> None:
    """Step ``scenario``'s network at ``speed`` ticks/s and serve its tools until cancelled."""
    network = Network.from_scenario(scenario)
    network.step()
    app = build_server(network).streamable_http_app(host=host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))

    async def tick() -> None:
        while not network.done:
            await asyncio.sleep(1.0 / speed)
            network.step()

    ticker = asyncio.create_task(tick())
    watcher = asyncio.create_task(_signal_ready(server, ready))
    try:
        await server.serve()
    finally:
        ticker.cancel()
        watcher.cancel()


async def _signal_ready(server: uvicorn.Server, ready: asyncio.Event | None) -> None:
    while not server.started:
        await asyncio.sleep(0.01)
    if ready is not None:
        ready.set()
