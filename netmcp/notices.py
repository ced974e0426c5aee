"""Log notifications to MCP clients: ``logging/setLevel`` and notices of the changes tools make.

A client that sets a level (``logging/setLevel``, the 2025-era way) receives a
``notifications/message`` for every change a remediation tool applies, at
level ``notice``, when that level is at or above the one it set. On the
2026-era wire the SDK applies the per-request opt-in itself.
"""

from __future__ import annotations

import weakref
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types import EmptyResult, LoggingLevel, SetLevelRequestParams

LEVELS: tuple[LoggingLevel, ...] = ("debug", "info", "notice", "warning", "error", "critical", "alert",
                                    "emergency")
LOGGER = "netloop.network"


class ClientLogLevels:
    """The level each client connection asked for; connections that never asked get nothing."""

    def __init__(self) -> None:
        self._levels: weakref.WeakKeyDictionary[Any, LoggingLevel] = weakref.WeakKeyDictionary()

    def install(self, server: MCPServer) -> None:
        """Serve ``logging/setLevel`` on ``server`` (which then declares the logging capability)."""
        # MCPServer has no public hook for this spec method; the low-level server does.
        server._lowlevel_server.add_request_handler(
            "logging/setLevel", SetLevelRequestParams, self._set_level)

    async def _set_level(self, ctx: ServerRequestContext[Any, Any],
                         params: SetLevelRequestParams) -> EmptyResult:
        self._levels[_connection(ctx.session)] = params.level
        return EmptyResult()

    async def notice(self, session: Any, data: dict[str, Any], level: LoggingLevel = "notice") -> None:
        """Tell ``session`` about a change, if it asked for messages at ``level`` or below."""
        wanted = self._levels.get(_connection(session))
        if wanted is not None and LEVELS.index(level) >= LEVELS.index(wanted):
            await session.send_log_message(level, data, logger=LOGGER)


def _connection(session: Any) -> Any:
    """The client connection a per-request session belongs to: the level is set once per connection."""
    # ServerSession keeps its connection private; tools see it as ctx.connection.
    return getattr(session, "_connection", session)
