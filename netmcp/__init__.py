"""NetMCP: the network's capabilities as MCP tools, on the official ``mcp`` SDK.

:func:`build_server` returns an ``MCPServer`` over a :class:`NetworkPort`
(the simulator, or an adapter to a real network). Entry points decide the
transport: in-memory in the embedded runtime, streamable HTTP for
``netloop netmcp serve``.
"""

from netmcp.models import ActionOutcome, Alarms, EntityKpis, Neighbourhood
from netmcp.port import NetworkPort
from netmcp.server import SERVER_NAME, build_server

__all__ = [
    "SERVER_NAME",
    "ActionOutcome",
    "Alarms",
    "EntityKpis",
    "Neighbourhood",
    "NetworkPort",
    "build_server",
]
