"""The NetMCP tool model: what a network-function tool is beyond its MCP schema.

Every tool has, besides name, description and input/output schema (which MCP
already carries), a domain, a category, a permission level and parameter
constraints. :class:`ToolSpec` holds them; :meth:`ToolSpec.meta` is what the
tool listing carries under the ``_meta`` key :data:`NETMCP`, so a plain MCP
client still sees a valid tool and a NetMCP client sees the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from netmcp.constraints import Constraint, Derived

NETMCP = "io.netloop/netmcp"
"""The extension identifier, advertised at initialization and used as the ``_meta`` key of tools."""
NETMCP_VERSION = "1.0"

META_TRACE = "io.netloop/trace-id"
"""``_meta`` key of a call's trace id; the server makes one when the caller did not."""
META_TOKEN = "io.netloop/authorization"
"""``_meta`` key carrying ``Bearer <token>`` where the transport has no HTTP header (stdio, in-memory)."""
META_CONFIRMED = "io.netloop/confirmed"
"""``_meta`` key a caller with the ``netmcp:confirm`` scope sets after a human confirmed the call."""
META_CONTEXT = "io.netloop/context"
"""``_meta`` key of the execution context (workflow id and step) a call belongs to."""


class Domain(StrEnum):
    """Where in the network a tool acts."""

    RAN = "ran"
    CORE = "core"
    TRANSPORT = "transport"
    ANY = "any"


class Category(StrEnum):
    """What a tool is for."""

    SENSING = "sensing"
    CONNECTIVITY = "connectivity"
    PERFORMANCE = "performance-assurance"
    RECOVERY = "recovery"


class Permission(StrEnum):
    """Who may call a tool: anyone, any valid token with the tool's scope, or named agents only."""

    PUBLIC = "public"
    TOKEN = "token"
    AGENTS = "agents"


@dataclass(frozen=True)
class ToolSpec:
    """The NetMCP description of one tool.

    Parameters
    ----------
    name
        The MCP tool name.
    domain, category, permission
        See :class:`Domain`, :class:`Category`, :class:`Permission`.
    scope
        Token scope the call needs (``permission`` token or agents).
    agents
        Client ids allowed to call an ``agents`` tool.
    labels
        Free labels for discovery and scope matching (``"cell"``, ``"outage"``).
    constraints
        Ranges and inter-parameter rules checked before the call reaches the network.
    derived
        Parameters the server fills in when the caller leaves them out; a NetMCP
        listing hides them, so the caller sees a smaller interface.
    """

    name: str
    domain: Domain
    category: Category
    permission: Permission = Permission.PUBLIC
    scope: str | None = None
    agents: frozenset[str] = frozenset()
    labels: tuple[str, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    derived: tuple[Derived, ...] = field(default=())

    @property
    def changes_network(self) -> bool:
        """Whether a call changes the network (every category but sensing); only such calls are keyed."""
        return self.category is not Category.SENSING

    def meta(self) -> dict[str, Any]:
        """The tool's NetMCP metadata as it travels in the listing's ``_meta``."""
        return {NETMCP: {
            "domain": self.domain.value,
            "category": self.category.value,
            "permission": self.permission.value,
            "scope": self.scope,
            "agents": sorted(self.agents),
            "labels": list(self.labels),
            "constraints": [c.describe() for c in self.constraints],
            "derived": [d.param for d in self.derived],
        }}


# JSON-RPC error codes of NetMCP refusals (the server-error range of JSON-RPC 2.0).
# A parameter that breaks a constraint is the standard INVALID_PARAMS (-32602).
UNAUTHORIZED = -32001
"""No valid token: missing, malformed, badly signed or expired."""
FORBIDDEN = -32003
"""A valid token that does not allow this tool (scope or agent)."""
NEEDS_CONFIRMATION = -32004
"""The rules cannot decide; a human must confirm the call (see :data:`META_CONFIRMED`)."""
KEY_REUSED = -32005
"""An idempotency key the caller already used for a different request (tool, target or arguments)."""
LEDGER_FULL = -32006
"""The caller's idempotency ledger holds as many keys as it may within their retention; retry later."""
