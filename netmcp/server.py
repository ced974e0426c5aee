"""NetMCP tool servers: the network's read and remediation capabilities as MCP tools.

``build_server(network, role=...)`` returns an :class:`MCPServer` from the
official SDK with the NetMCP extension: any MCP client can list and call its
tools; a NetMCP client also gets the tool metadata, search, tokens and
verification. Tools are async so that they run on the event loop that also
steps the network, never in a worker thread.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from netmcp.audit import AuditLog
from netmcp.catalog import ROLES, SPECS
from netmcp.constraints import CallCheck
from netmcp.extension import NetMcpExtension
from netmcp.gate import Gate, TokenCheck
from netmcp.notices import ClientLogLevels
from netmcp.port import NetworkPort
from netmcp.tools_act import add_act_tools
from netmcp.tools_read import add_read_tools

SERVER_NAME = "netloop-network"
_VERSION = importlib.metadata.version("netloop")
_INSTRUCTIONS = {
    "ran": "Tools of a 5G radio access network: read cell KPIs and alarms; remediate cells "
           "(outage, congestion, interference, antenna tilt, handover).",
    "core": "Tools of a 5G core and its backhaul: read UPF, SMF, AMF and link status; remediate "
            "them (scale out, restart, reroute, fail over).",
    "all": "Tools of a 5G network: read KPIs, topology and alarms; remediate faults in the RAN "
           "(cells), the transport (backhaul links) and the core (UPF, SMF, AMF).",
}


def build_server(network: NetworkPort, *, role: str = "all", server_id: str | None = None,
                 verifier: TokenCheck | None = None, checks: Sequence[CallCheck] = (),
                 audit: AuditLog | None = None, netmcp: bool = True,
                 nf_connect: Callable[[str], Any] | None = None) -> MCPServer:
    """An MCP server whose tools read and change ``network``.

    Parameters
    ----------
    role
        ``ran``, ``core`` (core NFs and transport) or ``all``: which tools it carries.
    server_id
        Its name in discovery and audit (default: ``netloop-<role>``).
    verifier
        Checks bearer tokens (a :class:`netmcp.tokens.TokenVerifier`); ``None`` runs open.
    checks
        Model-based verification hooks asked before a call reaches the network.
    audit
        Where the call records go (a fresh :class:`AuditLog` by default).
    nf_connect
        How forwarded calls of NF-registered tools reach the NF (default: its URL over HTTP).
    netmcp
        ``False`` leaves the NetMCP extension out: a plain MCP server with no
        verification, tokens or idempotency. Only the benchmark's baseline wants that.

    A remediation call that carries an action id in its ``_meta``
    (:data:`schemas.ACTION_ID_META`) is executed once: the same id again
    returns the first result, so retries and re-delivered actions are harmless.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(sorted(ROLES))}, not {role!r}")
    sid = server_id or f"netloop-{role}"
    names = ROLES[role]
    ext = NetMcpExtension({n: SPECS[n] for n in names}, server_id=sid, role=role,
                          gate=Gate(verifier=verifier, checks=checks), audit=audit, connect=nf_connect)
    server = MCPServer(SERVER_NAME if role == "all" else sid, instructions=_INSTRUCTIONS[role],
                       version=_VERSION, extensions=[ext] if netmcp else [])
    register = _registrar(server)
    notices = ClientLogLevels()
    notices.install(server)
    add_read_tools(register, network, names)
    add_act_tools(register, network, names, notices)
    ext.bind(server.list_tools, server.add_tool)
    return server


def _registrar(server: MCPServer) -> Callable[[Callable[..., Any], ToolAnnotations], None]:
    def register(fn: Callable[..., Any], annotations: ToolAnnotations) -> None:
        server.add_tool(fn, annotations=annotations, meta=SPECS[fn.__name__].meta())

    return register

