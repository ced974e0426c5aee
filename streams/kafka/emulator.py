"""``netloop emulate``: the simulated network on Kafka, with its tools on MCP over HTTP.

It publishes the topology (compacted topic) and, tick by tick, the alarms and
maintenance windows the network announces, then the telemetry frames followed
by a :class:`~schemas.TickMark` on every telemetry partition;
the act stage's tool calls reach the network through the NetMCP server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import urlparse

import uvicorn
from aiokafka import AIOKafkaProducer

from netmcp import AuditLog, build_server
from netmcp.serving import start_http
from schemas import MaintenanceWindow, TickMark, topics
from simulator import Network, Scenario
from streams.kafka.topics import partitions_of
from streams.recording.kafka import bootstrap_servers
from streams.settings import Settings

log = logging.getLogger("netloop.emulator")


class Emulator:
    """Steps a scenario's network at ``speed`` ticks/s onto Kafka and serves its tools.

    Every tool call is recorded in ``audit`` (a fresh :class:`~netmcp.AuditLog` by
    default): the action id, and whether the call was executed or replayed from the ledger.
    """

    def __init__(self, scenario: Scenario, settings: Settings, *, speed: float,
                 audit: AuditLog | None = None) -> None:
        self.scenario, self.settings, self.speed = scenario, settings, speed
        self.audit = audit if audit is not None else AuditLog()
        self.network = Network.from_scenario(scenario)
        self.tools_ready = asyncio.Event()
        self._server: uvicorn.Server | None = None

    async def serve_tools(self) -> None:
        """Serve the NetMCP tools at ``settings.mcp_url`` until :meth:`stop_tools`.

        With ``settings.management_url``, the tool server verifies the management server's
        tokens, registers there (as ``emulator``, at ``mcp_url``) and reports its load.
        """
        from streams.tools.serve import ToolServing, managed

        s = self.settings
        url = urlparse(s.mcp_url)
        host, port = url.hostname or "127.0.0.1", url.port or 8765
        serving = ToolServing(server_id="emulator", host=host, port=port, management_url=s.management_url,
                              client_id=s.client_id, client_secret=s.client_secret,
                              service_area=(s.service_area,))
        async with managed(serving, self.audit) as (verifier, register):
            mcp = build_server(self.network, verifier=verifier, audit=self.audit)
            await register(mcp)
            app = mcp.streamable_http_app(host=host, streamable_http_path=url.path or "/mcp")
            self._server, serving_task = await start_http(app, host, port)
            self.tools_ready.set()
            await serving_task

    def stop_tools(self) -> None:
        """Ask the tool server to finish its requests and stop."""
        if self._server is not None:
            self._server.should_exit = True

    async def publish(self, ticks: int | None = None, *,
                      progress: Callable[[], int] | None = None, max_lag: int = 3) -> None:
        """Publish the topology, then ``ticks`` ticks of telemetry (default: the scenario's).

        With ``progress`` (the last tick the loop has closed), the emulator waits
        while it is more than ``max_lag`` ticks ahead: one process running both
        sides keeps the loop's view and the network in step. A real network
        does not wait, and neither does ``netloop emulate``.
        """
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(self.settings.broker),
                                    linger_ms=2)
        await producer.start()
        try:
            for rec in self.network.topology_records():
                await producer.send(topics.TOPOLOGY, rec.encode(), key=rec.entity_id.encode())
            await producer.flush()
            start, n = time.perf_counter(), min(ticks or self.scenario.ticks, self.scenario.ticks)
            for i in range(n):
                while progress is not None and self.network.tick - progress() > max_lag:
                    await asyncio.sleep(0.005)
                await self._tick(producer)
                await asyncio.sleep(max(0.0, start + (i + 1) / self.speed - time.perf_counter()))
        finally:
            await producer.stop()

    async def _tick(self, producer: AIOKafkaProducer) -> None:
        tick = self.network.tick
        frames = self.network.step()
        for notice in self.network.notices():
            key = notice.window_id if isinstance(notice, MaintenanceWindow) else notice.entity_id
            await producer.send(notice.topic, notice.encode(), key=key.encode())
        for frame in frames:
            await producer.send(topics.TELEMETRY, frame.encode(), key=frame.shard.encode())
        parts = partitions_of(topics.TELEMETRY, self.settings)
        mark = TickMark(tick_closed=tick, partitions=parts).encode()
        for p in range(parts):
            await producer.send(topics.TELEMETRY, mark, partition=p)
        await producer.flush()
