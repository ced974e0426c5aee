"""NetMCP: the network's capabilities as MCP tools, on the official ``mcp`` SDK, with the NetMCP extension.

- :func:`build_server` returns an ``MCPServer`` over a :class:`NetworkPort` (the
  simulator, or an adapter to a real network) carrying the tools of a role
  (``ran``, ``core``, ``all``) and the NetMCP extension: tool metadata
  (:class:`ToolSpec`), token checks, parameter verification, trace ids,
  idempotency on the action id bound to caller and request (:mod:`netmcp.ledger`), audit, search and
  most-used-first listings. :mod:`netmcp.shapes` describes what each tool takes, for policy checks.
- :class:`NetMcpClient` negotiates the extension and falls back to plain MCP.
- :class:`ExecutionContext` is the state one workflow instance shares between its calls.
- The management server (registry, discovery, tokens) is :mod:`netmcp.management`,
  its client :mod:`netmcp.management_client`.

Entry points decide the transport: in-memory in the embedded runtime,
streamable HTTP or stdio for ``netloop netmcp serve``.
"""

from netmcp.audit import AuditLog, AuditRecord
from netmcp.catalog import ACTUATOR, ROLES, SPECS
from netmcp.client import NetMcpClient
from netmcp.constraints import ConfirmWhen, Derived, Range, Rule, Verdict
from netmcp.context import ExecutionContext
from netmcp.models import ActionOutcome, Alarms, EntityKpis, EntityStatus, Neighbourhood
from netmcp.port import NetworkPort
from netmcp.server import SERVER_NAME, build_server
from netmcp.spec import NETMCP, NETMCP_VERSION, Category, Domain, Permission, ToolSpec

__all__ = [
    "ACTUATOR",
    "NETMCP",
    "NETMCP_VERSION",
    "ROLES",
    "SERVER_NAME",
    "SPECS",
    "ActionOutcome",
    "Alarms",
    "AuditLog",
    "AuditRecord",
    "Category",
    "ConfirmWhen",
    "Derived",
    "Domain",
    "EntityKpis",
    "EntityStatus",
    "ExecutionContext",
    "Neighbourhood",
    "NetMcpClient",
    "NetworkPort",
    "Permission",
    "Range",
    "Rule",
    "ToolSpec",
    "Verdict",
    "build_server",
]
