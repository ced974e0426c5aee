"""What a tool server needs from the network it controls: the seam to a simulator or a real one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from schemas import MaintenanceWindow, TopologyEntity


class NetworkPort(Protocol):
    """The network behind the tools. The simulator implements it; so would an OSS/EMS adapter."""

    tick: int

    def apply(self, tool: str, target: str, parameters: Mapping[str, Any]) -> object:
        """Execute a remediation with its parameters; ``KeyError`` for an unknown target.

        The result may carry ``ok`` (False: the network reports that the change failed)
        and ``detail`` (what it says about it).
        """
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

    def maintenance_calendar(self) -> list[MaintenanceWindow]:
        """Planned maintenance windows announced and not yet over."""
        ...
