"""A NetMCP client: the official MCP client plus the NetMCP extension, with fallback to plain MCP.

It offers both versions when it connects (its MCP versions through the SDK's
negotiation, NetMCP's in the extension capability), then detects whether the
server speaks NetMCP: from the server's extension capabilities, or on a wire
that has none (a 2025-era handshake) by probing ``netmcp/hello``. Against a
plain MCP server it still lists and calls tools; search falls back to a local
index over the listing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx2
from mcp import Client
from mcp.client.extension import advertise
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import METHOD_NOT_FOUND, CallToolResult, Implementation
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from netmcp import protocol as p
from netmcp.context import ExecutionContext
from netmcp.delegation import RegisterToolParams, RegisterToolRequest, RegisterToolResult
from netmcp.search import ToolIndex
from netmcp.spec import META_CONFIRMED, META_CONTEXT, META_TOKEN, META_TRACE, NETMCP, NETMCP_VERSION
from schemas import ACTION_ID_META

TokenSource = Callable[[], Awaitable[str]]
MCP_VERSIONS = [*MODERN_PROTOCOL_VERSIONS, *HANDSHAKE_PROTOCOL_VERSIONS]


class NetMcpClient:
    """Connects to one tool server; ``netmcp`` says whether the server speaks NetMCP.

    Parameters
    ----------
    server
        A URL (streamable HTTP), ``StdioServerParameters``, or an ``MCPServer`` (in-memory).
    token
        Returns a bearer token when asked (called per request, so it may refresh);
        sent as the HTTP ``Authorization`` header, or in ``_meta`` where there is no HTTP.
    name
        The client's name (``clientInfo``): the key of its most-used-first listing.
    """

    def __init__(self, server: Any, *, token: TokenSource | None = None, name: str = "netloop") -> None:
        self.server, self.token, self.name = server, token, name
        self.netmcp = False
        self.settings: dict[str, Any] = {}
        self._stack: AsyncExitStack | None = None
        self._client: Client | None = None
        self._local_index: ToolIndex | None = None

    async def __aenter__(self) -> NetMcpClient:
        stack = AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(self._mcp_client())
            await self._detect()
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(self, *exc: object) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    @property
    def mcp(self) -> Client:
        """The underlying SDK client."""
        if self._client is None:
            raise RuntimeError("NetMcpClient must be used within 'async with'")
        return self._client

    def _mcp_client(self) -> Client:
        ad = advertise(NETMCP, {"version": NETMCP_VERSION, "mcp_versions": MCP_VERSIONS})
        info = Implementation(name=self.name, version=NETMCP_VERSION)
        server = self.server
        if isinstance(server, str) and self.token is not None:
            http = create_mcp_http_client(auth=_Bearer(self.token))
            server = _transport(server, http)
        return Client(server, extensions=[ad], client_info=info)

    async def _detect(self) -> None:
        offered = (self.mcp.server_capabilities.extensions or {}).get(NETMCP)
        if offered is not None:
            self.netmcp, self.settings = True, dict(offered)
            return
        try:
            hello = await self.mcp.session.send_request(
                p.HelloRequest(params=p.HelloParams(version=NETMCP_VERSION, mcp_versions=MCP_VERSIONS)),
                p.HelloResult)
        except MCPError as exc:
            if exc.error.code != METHOD_NOT_FOUND:
                raise
            return  # a plain MCP server
        self.netmcp = True
        self.settings = {"version": hello.version, "server_id": hello.server_id, "role": hello.role}

    async def call(self, tool: str, arguments: dict[str, Any] | None = None, *, action_id: str | None = None,
                   context: ExecutionContext | None = None, trace_id: str | None = None,
                   confirmed: bool = False) -> CallToolResult:
        """Call ``tool``; NetMCP ``_meta`` (trace, idempotency key, context, token) travels along."""
        meta: dict[str, Any] = {META_TRACE: trace_id or uuid.uuid4().hex}
        if action_id is not None:
            meta[ACTION_ID_META] = action_id
        if context is not None:
            meta[META_CONTEXT] = context.meta()
        if confirmed:
            meta[META_CONFIRMED] = True
        meta.update(await self._token_meta())
        result = await self.mcp.call_tool(tool, arguments or {}, meta=meta)
        if context is not None:
            context.record(tool, arguments or {}, result)
        return result

    async def _token_meta(self) -> dict[str, Any]:
        """The bearer token in ``_meta``, where no HTTP header carries it (stdio, in memory)."""
        if self.token is None or isinstance(self.server, str):
            return {}
        return {META_TOKEN: f"Bearer {await self.token()}"}

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *,
                        meta: dict[str, Any] | None = None) -> CallToolResult:
        """The SDK's signature, so the actuators' executor can use this client as it is."""
        meta = dict(meta or {})
        action_id = meta.pop(ACTION_ID_META, None)
        return await self.call(name, arguments, action_id=action_id if isinstance(action_id, str) else None)

    async def tools(self, *, compact: bool = True) -> list[p.ToolEntry]:
        """The server's tools with their NetMCP metadata, most-used first for this client."""
        if self.netmcp:
            params = p.ListParams(compact=compact, _meta=await self._token_meta() or None)
            result = await self.mcp.session.send_request(p.ListRequest(params=params), p.ToolsResult)
            return result.tools
        listing = (await self.mcp.list_tools()).tools
        return [p.ToolEntry(name=t.name, description=t.description or "", input_schema=t.input_schema,
                            netmcp={}) for t in listing]

    async def register_tool(self, offer: RegisterToolParams) -> RegisterToolResult:
        """Offer an NF's tool to the server (NetMCP only); the answer says whether it was accepted."""
        if not self.netmcp:
            raise RuntimeError("the server does not speak NetMCP: it cannot take NF tools")
        params = offer.model_copy(update={"meta": await self._token_meta()})
        return await self.mcp.session.send_request(RegisterToolRequest(params=params), RegisterToolResult)

    async def search(self, query: str, k: int = 5) -> list[p.ToolEntry]:
        """The ``k`` tools most relevant to ``query``: the server's search, or a local one."""
        if self.netmcp:
            result = await self.mcp.session.send_request(
                p.SearchRequest(params=p.SearchParams(query=query, k=k)), p.ToolsResult)
            return result.tools
        tools = {t.name: t for t in await self.tools()}
        if self._local_index is None:
            self._local_index = ToolIndex([_Plain(t.name, t.description) for t in tools.values()])
        return [tools[n].model_copy(update={"score": s}) for n, s in self._local_index.search(query, k)]


class _Plain:
    """A tool of a plain MCP server, as the local index reads it."""

    def __init__(self, name: str, description: str) -> None:
        self.name, self.description, self.labels, self.category = name, description, (), ""


class _Bearer(httpx2.Auth):
    """Puts a fresh bearer token on every HTTP request of the MCP session."""

    def __init__(self, token: TokenSource) -> None:
        self._token = token

    async def async_auth_flow(
            self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        request.headers["Authorization"] = f"Bearer {await self._token()}"
        yield request


def _transport(url: str, http: httpx2.AsyncClient) -> Any:
    """A streamable-HTTP transport over ``http`` (which carries the bearer auth)."""
    return streamable_http_client(url, http_client=http)
