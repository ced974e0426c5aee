"""The catalogue policies are checked against when they load: the tool servers' tools and the faults
the localizer can name (each fault type with the kind of its root, as its learned profiles say)."""

from __future__ import annotations

from actuators.catalogue import PolicyCatalogue
from detectors import shipped_profiles
from netmcp.shapes import tool_shapes


def policy_catalogue() -> PolicyCatalogue:
    """Every NetMCP tool's shape, and the root kinds of every fault type the localizer has a profile of."""
    roots: dict[str, set[str]] = {}
    for p in shipped_profiles().profiles:
        roots.setdefault(p.fault_type, set()).add(p.root_kind.value)
    return PolicyCatalogue(tools=tool_shapes(), fault_roots={f: frozenset(k) for f, k in roots.items()})
