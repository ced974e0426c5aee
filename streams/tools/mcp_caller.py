"""An MCP tool caller over streamable HTTP that connects on first use and again after a failure."""

from __future__ import annotations

import contextlib
from contextlib import AsyncExitStack
from typing import Any

from mcp import Client


class HttpToolCaller:
    """``call_tool`` against the MCP server at ``url``; a broken session is dropped and reopened
    on the next call, so one network hiccup fails one action, not the act stage."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._stack: AsyncExitStack | None = None
        self._client: Client | None = None

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *,
                        meta: dict[str, Any] | None = None) -> Any:
        client = await self._connect()
        try:
            return await client.call_tool(name, arguments, meta=meta)
        except Exception:
            await self.close()
            raise

    async def _connect(self) -> Client:
        if self._client is None:
            stack = AsyncExitStack()
            try:
                self._client = await stack.enter_async_context(Client(self.url))
            except BaseException:
                await stack.aclose()
                raise
            self._stack = stack
        return self._client

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):  # closing a session that already broke
                await stack.aclose()
