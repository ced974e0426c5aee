"""A raw JSON-RPC client of a streamable-HTTP MCP server, for bytes the SDK's client would never send.

The SDK's client serialises arguments itself (NaN becomes ``null``); an outsider writes whatever bytes
it likes: ``NaN``, ``1e400``, ten-thousand-digit integers. :class:`Wire` posts them as they are.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
from mcp.server.mcpserver import MCPServer

from netmcp.serving import start_http

_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Wire:
    """An initialised MCP session over HTTP; :meth:`post` sends raw bytes, returns the JSON answer."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url = http, url
        self.session: str | None = None

    async def post(self, body: bytes | str) -> dict[str, Any] | None:
        headers = dict(_HEADERS)
        if self.session is not None:
            headers["mcp-session-id"] = self.session
            headers["mcp-protocol-version"] = "2025-06-18"
        r = await self.http.post(self.url, content=body, headers=headers)
        self.session = r.headers.get("mcp-session-id", self.session)
        return _answer(r)

    async def call(self, tool: str, arguments_json: str, request_id: int = 2) -> dict[str, Any] | None:
        """``tools/call`` with the arguments spelled exactly as ``arguments_json``."""
        return await self.post(f'{{"jsonrpc":"2.0","id":{request_id},"method":"tools/call",'
                               f'"params":{{"name":{json.dumps(tool)},"arguments":{arguments_json}}}}}')


def _answer(r: httpx.Response) -> dict[str, Any] | None:
    if r.status_code == 202 or not r.content:
        return None
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in r.text.splitlines() if line.startswith("data:")]
        return json.loads(data[-1]) if data else None
    try:
        return r.json()
    except ValueError:
        return {"http_status": r.status_code, "text": r.text[:200]}


@contextlib.asynccontextmanager
async def wire_to(server: MCPServer) -> AsyncIterator[Wire]:
    """Serve ``server`` on a free loopback port and open an initialised raw session to it."""
    port = free_port()
    uv, task = await start_http(server.streamable_http_app(host="127.0.0.1"), "127.0.0.1", port)
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            wire = Wire(http, f"http://127.0.0.1:{port}/mcp")
            await wire.post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "outsider", "version": "0"}}}))
            await wire.post('{"jsonrpc":"2.0","method":"notifications/initialized"}')
            yield wire
    finally:
        uv.should_exit = True
        await task
