"""The request methods of the NetMCP extension: hello, tools/list and tools/search.

They read the server's own tool listing (bound after the server is built) and
answer with the tools' NetMCP metadata: most-used first for the caller, the
parameters the server derives hidden, so an agent sees a smaller interface.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp.server.context import ServerRequestContext
from mcp.server.extension import MethodBinding
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, Tool

from netmcp import delegation as d
from netmcp import protocol as p
from netmcp.auth import NETMCP_REGISTER
from netmcp.catalog import SCOPES_OF_ROLE
from netmcp.gate import Caller, bearer_of
from netmcp.search import ToolIndex, UsageCounter
from netmcp.spec import NETMCP, NETMCP_VERSION, ToolSpec

if TYPE_CHECKING:
    from netmcp.extension import NetMcpExtension

log = logging.getLogger("netloop.netmcp")


class Methods:
    """The extension's methods over a server's tools."""

    names = (p.HELLO, p.LIST, p.SEARCH, d.REGISTER)

    def __init__(self, ext: NetMcpExtension) -> None:
        self.ext = ext
        self.usage = UsageCounter()
        self._list_tools: Callable[[], Awaitable[list[Tool]]] | None = None
        self._add_tool: Callable[..., Any] | None = None
        self._tools: dict[str, Tool] = {}
        self._index: ToolIndex | None = None

    def bind(self, list_tools: Callable[[], Awaitable[list[Tool]]], add_tool: Callable[..., Any]) -> None:
        self._list_tools, self._add_tool = list_tools, add_tool

    def bindings(self) -> list[MethodBinding]:
        return [MethodBinding(p.HELLO, p.HelloParams, self.hello),
                MethodBinding(p.LIST, p.ListParams, self.list),
                MethodBinding(p.SEARCH, p.SearchParams, self.search),
                MethodBinding(d.REGISTER, d.RegisterToolParams, self.register)]

    def defaults(self, tool: str) -> dict[str, Any]:
        """The JSON-schema defaults of a tool's parameters (known once the tools were listed)."""
        t = self._tools.get(tool)
        props = (t.input_schema or {}).get("properties", {}) if t is not None else {}
        return {k: v["default"] for k, v in props.items() if v.get("default") is not None}

    async def load(self) -> dict[str, Tool]:
        """The server's tools by name, listed once (the tool set is fixed after construction)."""
        if not self._tools:
            if self._list_tools is None:
                raise MCPError(code=INTERNAL_ERROR, message="NetMCP extension is not bound to a server")
            self._tools = {t.name: t for t in await self._list_tools()}
        return self._tools

    async def hello(self, ctx: ServerRequestContext[Any, Any], params: p.HelloParams) -> p.HelloResult:
        tools = await self.load()
        return p.HelloResult(version=NETMCP_VERSION, server_id=self.ext.server_id, role=self.ext.role,
                             tools=len(tools))

    async def list(self, ctx: ServerRequestContext[Any, Any], params: p.ListParams) -> p.ToolsResult:
        tools = await self.load()
        caller = self._caller(ctx)
        names = self.usage.order(caller, sorted(tools))
        return p.ToolsResult(tools=[self._entry(tools[n], params.compact) for n in names])

    async def search(self, ctx: ServerRequestContext[Any, Any], params: p.SearchParams) -> p.ToolsResult:
        tools = await self.load()
        if self._index is None:
            self._index = ToolIndex([self._descriptor(t) for t in tools.values()])
        hits = self._index.search(params.query, k=params.k)
        return p.ToolsResult(tools=[self._entry(tools[name], True, score) for name, score in hits])

    async def register(self, ctx: ServerRequestContext[Any, Any],
                       params: d.RegisterToolParams) -> d.RegisterToolResult:
        """An NF offers a tool; accepted when it fits the server's scope, then listed and forwarded."""
        gate = self.ext.gate
        gate.require(NETMCP_REGISTER, gate.identify(bearer_of(ctx, ctx.meta or {})), d.REGISTER)
        labels, summary = SCOPES_OF_ROLE[self.ext.role]
        accepted, reason = d.decide(params, labels, summary, set(await self.load()))
        if accepted and self._add_tool is not None:
            spec = d.spec_of(params)
            self.ext.specs[spec.name] = spec
            self._add_tool(d.forwarder(params, self.ext.connect), name=spec.name,
                           description=params.description, annotations=d.ANNOTATIONS, meta=spec.meta())
            self._tools, self._index = {}, None  # list again, with the new tool
        log.info("NF tool %s from %s: %s (%s)", params.name, params.endpoint,
                 "accepted" if accepted else "refused", reason)
        return d.RegisterToolResult(accepted=accepted, reason=reason)

    def _caller(self, ctx: ServerRequestContext[Any, Any]) -> str:
        who = self.ext.gate.identify(bearer_of(ctx, ctx.meta or {}))
        return caller_key(ctx.meta or {}, who.client_id if isinstance(who, Caller) else "anonymous")

    def _entry(self, tool: Tool, compact: bool, score: float | None = None) -> p.ToolEntry:
        spec = self.ext.specs.get(tool.name)
        schema = copy.deepcopy(tool.input_schema or {})
        if compact and spec is not None:
            _hide(schema, [d.param for d in spec.derived])
        return p.ToolEntry(name=tool.name, description=tool.description or "", input_schema=schema,
                           netmcp=spec.meta()[NETMCP] if spec is not None else {}, score=score)

    def _descriptor(self, tool: Tool) -> _Described:
        spec: ToolSpec | None = self.ext.specs.get(tool.name)
        return _Described(tool.name, tool.description or "", spec.labels if spec else (),
                          spec.category.value if spec else "")


@dataclass(frozen=True)
class _Described:
    """A tool as :class:`~netmcp.search.ToolIndex` reads it."""

    name: str
    description: str
    labels: tuple[str, ...]
    category: str


def _hide(schema: dict[str, Any], params: list[str]) -> None:
    props = schema.get("properties", {})
    for name in params:
        props.pop(name, None)
    if "required" in schema:
        schema["required"] = [r for r in schema["required"] if r not in params]


def caller_key(meta: Mapping[str, Any], client_id: str) -> str:
    """Whose usage a call counts for: the token's client, else the client's name, else anonymous."""
    if client_id != "anonymous":
        return client_id
    info = meta.get("io.modelcontextprotocol/clientInfo")
    return str(info.get("name", "anonymous")) if isinstance(info, dict) else "anonymous"
