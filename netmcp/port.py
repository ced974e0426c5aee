"""What a tool server needs from the network it controls: the seam to a simulator or a real one."""

from __future__ import annotations

from typing import Protocol

from schemas import TopologyEntity


class NetworkPort(Protocol):
    """The network behind the tools. The simulator implements it; so would an OSS/EMS adapter."""

    tick: int

    def apply(self, tool: str, target: str) -> object:
        """Execute a remediation; ``KeyError`` for an unknown target."""
        ...

    def latest_kpis(self, entity_id: str) -> dict[str, float]:
        """Last reported KPIs of an entity; ``KeyError`` for an unknown entity."""
        ...

    def alarms(self) -> list[tuple[str, str]]:
        """Active equipment alarms as ``(entity id, text)``."""
        ...

    def topology_records(self) -> list[TopologyEntity]:
        """Every entity with its dependencies."""
        ...
