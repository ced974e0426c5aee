"""Names both sides of a protocol must agree on, declared once."""

from __future__ import annotations

ACTION_ID_META = "netloop.io/action-id"
"""MCP request ``_meta`` key carrying the action id: the tool server applies each id once."""
