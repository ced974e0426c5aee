"""The catalogue policies are checked against when they load: the tool servers' tools and the faults
the localizer can name (each fault type with the kind of its root)."""

from __future__ import annotations

from actuators.catalogue import PolicyCatalogue
from detectors import SIGNATURES
from netmcp.shapes import tool_shapes


def policy_catalogue() -> PolicyCatalogue:
    """Every NetMCP tool's shape, and the root kinds of every fault type with a signature."""
    roots: dict[str, set[str]] = {}
    for s in SIGNATURES:
        roots.setdefault(s.fault_type, set()).add(s.root_kind.value)
    return PolicyCatalogue(tools=tool_shapes(), fault_roots={f: frozenset(k) for f, k in roots.items()})
