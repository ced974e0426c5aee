"""Read tools: KPIs, topology and alarms, generic and per domain (RAN, core, transport)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from netmcp.models import (
    Alarm,
    Alarms,
    Calendar,
    CellId,
    EntityId,
    EntityKpis,
    EntityStatus,
    LinkId,
    Neighbourhood,
    NfId,
    Window,
)
from netmcp.port import NetworkPort
from schemas import TopologyEntity

READ = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True,
                       openWorldHint=False)

Register = Callable[[Callable[..., Any], ToolAnnotations], None]


def add_read_tools(register: Register, network: NetworkPort, names: frozenset[str]) -> None:
    """Register the read tools among ``names``."""
    for fn in _read_tools(network):
        if fn.__name__ in names:
            register(fn, READ)


def _find(network: NetworkPort, entity_id: str) -> TopologyEntity:
    me = next((r for r in network.topology_records() if r.entity_id == entity_id), None)
    if me is None:
        raise ToolError(f"entity {entity_id!r} is not in this network")
    return me


def _status(network: NetworkPort, entity_id: str) -> EntityStatus:
    me = _find(network, entity_id)
    dependents = sum(entity_id in r.depends_on for r in network.topology_records())
    alarms = [text for e, text in network.alarms() if e == entity_id]
    return EntityStatus(entity_id=entity_id, kind=me.kind.value, tick=network.tick,
                        kpis=network.latest_kpis(entity_id), alarms=alarms,
                        depends_on=me.depends_on, dependents=dependents)


def _read_tools(network: NetworkPort) -> list[Callable[..., Any]]:
    async def get_entity_kpis(entity_id: EntityId) -> EntityKpis:
        """Return the KPIs an entity reported at the last tick."""
        try:
            kpis = network.latest_kpis(entity_id)
        except KeyError:
            raise ToolError(f"entity {entity_id!r} is not in this network") from None
        return EntityKpis(entity_id=entity_id, tick=network.tick, kpis=kpis)

    async def get_topology_neighbourhood(entity_id: EntityId) -> Neighbourhood:
        """Return what an entity depends on and what depends on it directly."""
        me = _find(network, entity_id)
        dependents = sorted(r.entity_id for r in network.topology_records() if entity_id in r.depends_on)
        return Neighbourhood(entity_id=entity_id, kind=me.kind.value, depends_on=me.depends_on,
                             dependents=dependents)

    async def list_active_alarms() -> Alarms:
        """List the alarms equipment is raising now (hard failures only)."""
        return Alarms(tick=network.tick,
                      alarms=[Alarm(entity_id=e, text=t) for e, t in network.alarms()])

    async def get_maintenance_calendar() -> Calendar:
        """List the planned maintenance windows announced and not yet over (entities may go dark)."""
        return Calendar(tick=network.tick, windows=[
            Window(window_id=w.window_id, entity_id=w.entity_id, start_tick=w.start_tick,
                   end_tick=w.end_tick, reason=w.reason) for w in network.maintenance_calendar()])

    async def get_cell_status(cell_id: CellId) -> EntityStatus:
        """Read a radio cell's last measurements and alarms."""
        return _status(network, cell_id)

    async def get_nf_status(nf_id: NfId) -> EntityStatus:
        """Read a core network function's (UPF, SMF, AMF) last measurements and alarms."""
        return _status(network, nf_id)

    async def get_link_status(link_id: LinkId) -> EntityStatus:
        """Read a backhaul link's measurements and alarms, and which sites it serves."""
        return _status(network, link_id)

    return [get_entity_kpis, get_topology_neighbourhood, list_active_alarms, get_maintenance_calendar,
            get_cell_status, get_nf_status, get_link_status]
