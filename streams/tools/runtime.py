"""NetMCP inside one process: a management server, three tool servers, and the actuator's caller.

The embedded run deploys what a network would: a RAN tool server and a
redundant pair of core+transport tool servers over the simulated network, all
verifying tokens the management server signs; they register with it and
report their load. The act stage's executor calls through a
:class:`~streams.tools.netmcp_caller.NetMcpCaller`: discover, token, verified call.
In-memory by default; ``http=True`` serves everything on loopback HTTP.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import httpx
import uvicorn
from mcp.server.mcpserver import MCPServer

from netmcp import ACTUATOR, AuditLog, build_server
from netmcp.auth import NETMCP_REGISTER, NETWORK_ACT, NETWORK_READ, Authority
from netmcp.management import build_management_app
from netmcp.management_client import ManagementClient
from netmcp.registry import Registry
from simulator import Network
from streams.runtime.control import serve_on_loopback
from streams.tools.netmcp_caller import NetMcpCaller
from streams.tools.registration import server_record
from streams.tools.serve import ToolServing

TOOL_SERVERS = (("ran-1", "ran"), ("core-a", "core"), ("core-b", "core"))
_REGISTRAR = "tool-servers"


class NetMcpRuntime:
    """Everything NetMCP of one embedded run; ``caller`` is what the executor calls tools through."""

    def __init__(self, network: Network, *, http: bool = False, area: str = "default") -> None:
        self.network, self.http, self.area = network, http, area
        self.authority = Authority()
        self._secrets = {ACTUATOR: secrets.token_urlsafe(24), _REGISTRAR: secrets.token_urlsafe(24)}
        self.authority.add_client(ACTUATOR, self._secrets[ACTUATOR], [NETWORK_ACT, NETWORK_READ])
        self.authority.add_client(_REGISTRAR, self._secrets[_REGISTRAR], [NETMCP_REGISTER])
        self.registry = Registry()
        self.audits = {sid: AuditLog(capacity=10_000) for sid, _ in TOOL_SERVERS}
        self.servers: dict[str, MCPServer] = {
            sid: build_server(network, role=role, server_id=sid, verifier=self.authority.verifier(),
                              audit=self.audits[sid])
            for sid, role in TOOL_SERVERS}
        self._uvicorns: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
        self._seen = {sid: (0, time.monotonic()) for sid in self.servers}
        self.management: ManagementClient | None = None
        self._token: tuple[str, float] | None = None
        self.caller: NetMcpCaller | None = None

    async def __aenter__(self) -> NetMcpRuntime:
        app = build_management_app(self.registry, self.authority, admin_secret=secrets.token_urlsafe(24))
        if self.http:
            base = await self._serve(app)
            urls = {sid: await self._serve(server.streamable_http_app()) + "/mcp"
                    for sid, server in self.servers.items()}
            self.management = ManagementClient(base)
            connect = None
        else:
            urls = {sid: f"http://{sid}.netmcp.internal/mcp" for sid in self.servers}
            self.management = ManagementClient("http://management.netmcp.internal",
                                               transport=httpx.ASGITransport(app))
            by_url = {url: self.servers[sid] for sid, url in urls.items()}
            connect = by_url.__getitem__
        await self._register(urls)
        self.caller = NetMcpCaller(self.management, client_id=ACTUATOR, secret=self._secrets[ACTUATOR],
                                   area=self.area, connect=connect)
        await self.caller.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.caller is not None:
            await self.caller.__aexit__(*exc)
        if self.management is not None:
            await self.management.aclose()
        for server, task in self._uvicorns:
            server.should_exit = True
            await task

    async def report_loads(self) -> None:
        """Each tool server reports its calls per second since its last report (its heartbeat)."""
        token = await self._registrar_token()
        now = time.monotonic()
        for sid, audit in self.audits.items():
            count, since = self._seen[sid]
            await self.management.report_load(sid, (audit.total - count) / max(now - since, 1e-9), token)
            self._seen[sid] = (audit.total, now)

    async def _registrar_token(self) -> str:
        """The tool servers' token, fetched again when under 30 s of it are left."""
        assert self.management is not None
        if self._token is None or self._token[1] - time.time() < 30:
            grant = await self.management.token(_REGISTRAR, self._secrets[_REGISTRAR])
            self._token = (grant.access_token, time.time() + grant.expires_in)
        return self._token[0]

    async def _register(self, urls: dict[str, str]) -> None:
        assert self.management is not None
        token = await self._registrar_token()
        for (sid, role), server in zip(TOOL_SERVERS, self.servers.values(), strict=True):
            descriptions = {t.name: t.description or t.name for t in await server.list_tools()}
            serving = ToolServing(role=role, server_id=sid, service_area=(self.area,))
            record = server_record(serving, descriptions).model_copy(update={"url": urls[sid]})
            await self.management.register(record, token)

    async def _serve(self, app: Any) -> str:
        url, server, task = await serve_on_loopback(app)
        self._uvicorns.append((server, task))
        return url
