"""The actuator's NetMCP client: discover the tool, get a token, call through the tool server's checks.

:class:`NetMcpCaller` has the ``call_tool`` signature the executor expects. For
every call it asks the management server which servers offer the tool (least
utilised first), calls the first one that answers with a bearer token from
the client-credentials grant (refreshed before it expires), and passes the
execution context of the incident's workflow along.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from mcp_types import CallToolResult

from netmcp import ExecutionContext, NetMcpClient
from netmcp.management_client import ManagementClient, ManagementError
from schemas import ACTION_ID_META

Connect = Callable[[str], Any]
"""Maps a discovered server URL to what :class:`NetMcpClient` connects to (the URL itself over HTTP)."""


class NoServer(RuntimeError):
    """No live tool server offers the tool in this service area."""


class NetMcpCaller:
    """Calls tools wherever the management server says they are.

    Parameters
    ----------
    management
        A client of the management server.
    client_id, secret
        The actuator's credentials (client-credentials grant).
    area
        The service area to discover tools in.
    connect
        How to reach a server URL; identity (streamable HTTP) unless in-process.
    """

    def __init__(self, management: ManagementClient, *, client_id: str, secret: str, area: str = "default",
                 connect: Connect | None = None, max_contexts: int = 1000) -> None:
        self.management, self.client_id, self.secret, self.area = management, client_id, secret, area
        self._connect = connect or (lambda url: url)
        self._clients: dict[str, NetMcpClient] = {}
        self._stack = AsyncExitStack()
        self._token: tuple[str, float] | None = None
        self._contexts: OrderedDict[str, ExecutionContext] = OrderedDict()
        self._max_contexts = max_contexts
        self.routed: deque[tuple[str, str]] = deque(maxlen=10_000)
        """``(tool, server id)`` of the last 10,000 calls, in order: where load-aware routing sent them."""

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *,
                        meta: dict[str, Any] | None = None) -> CallToolResult:
        action_id = (meta or {}).get(ACTION_ID_META)
        context = self.context(action_id) if isinstance(action_id, str) else None
        offers = await self._offers(name)
        last: Exception | None = None
        for server_id, url in offers:
            try:
                client = await self._client(url)
                result = await client.call(name, arguments, action_id=action_id, context=context)
            except (OSError, ConnectionError) as exc:  # that server is gone: try its redundant peer
                last = exc
                await self._drop(url)
                continue
            self.routed.append((name, server_id))
            return result
        raise NoServer(f"no tool server in area {self.area!r} answered for {name}: {last}")

    async def token(self) -> str:
        """A valid bearer token, fetched again when the cached one has under 30 s left."""
        if self._token is None or self._token[1] - time.time() < 30:
            grant = await self.management.token(self.client_id, self.secret)
            self._token = (grant.access_token, time.time() + grant.expires_in)
        return self._token[0]

    async def __aenter__(self) -> NetMcpCaller:
        """Connect to every server the management server lists, in the task that will close them."""
        for status in await self.management.servers():
            if status.alive:
                await self._client(status.record.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ctx in self._contexts.values():
            await ctx.close()
        await self._stack.aclose()
        self._clients.clear()

    async def _offers(self, tool: str) -> list[tuple[str, str]]:
        try:
            found = await self.management.discover(area=self.area, tool=tool, k=1)
        except ManagementError as exc:
            raise NoServer(f"discovery of {tool} failed: {exc}") from exc
        if not found:
            raise NoServer(f"no live tool server in area {self.area!r} offers {tool}")
        return [(o.server_id, o.url) for o in found[0].servers]

    async def _client(self, url: str) -> NetMcpClient:
        if url not in self._clients:
            client = NetMcpClient(self._connect(url), token=self.token, name=self.client_id)
            self._clients[url] = await self._stack.enter_async_context(client)
        return self._clients[url]

    async def _drop(self, url: str) -> None:
        """Forget a broken session; the exit stack closes it with the others."""
        self._clients.pop(url, None)

    def context(self, action_id: str) -> ExecutionContext:
        """The execution context of the incident an action belongs to (shared by its workflow's steps)."""
        workflow = action_id.split("#")[0].rsplit("/", 1)[0]  # "<incident id>/<attempt>[#step]"
        ctx = self._contexts.get(workflow)
        if ctx is None:
            ctx = self._contexts[workflow] = ExecutionContext(workflow)
            while len(self._contexts) > self._max_contexts:
                self._contexts.popitem(last=False)
        self._contexts.move_to_end(workflow)
        return ctx

