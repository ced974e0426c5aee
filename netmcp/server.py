"""The NetMCP tool server: the network's read and remediation capabilities as MCP tools.

``build_server(network)`` returns an :class:`MCPServer` from the official SDK;
any MCP client can list and call its tools. Tools are async so that they run
on the event loop that also steps the network, never in a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from netmcp.models import (
    ActionOutcome,
    Alarm,
    Alarms,
    AmfId,
    CellId,
    EntityId,
    EntityKpis,
    LinkId,
    Neighbourhood,
    SmfId,
    UpfId,
)
from netmcp.port import NetworkPort
from schemas import ACTION_ID_META

READ = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True,
                       openWorldHint=False)
# A remediation changes the network; repeating it leaves the network as after the first call.
CHANGE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True,
                         openWorldHint=False)
# Restarts interrupt service while they run.
RESTART = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True,
                          openWorldHint=False)

SERVER_NAME = "netloop-network"


def build_server(network: NetworkPort) -> MCPServer:
    """An MCP server whose tools read and change ``network``.

    A remediation call that carries an action id in its ``_meta``
    (:data:`schemas.ACTION_ID_META`) is applied once: the same id again returns
    the first outcome without touching the network, so retries and re-delivered
    actions are harmless.
    """
    server = MCPServer(SERVER_NAME, instructions=(
        "Tools of a 5G network: read KPIs, topology and alarms; remediate faults in the RAN "
        "(cells), the transport (backhaul links) and the core (UPF, SMF, AMF)."))
    act = _Actuation(network)
    _add_read_tools(server, network)
    _add_ran_tools(server, act)
    _add_core_and_transport_tools(server, act)
    return server


class _Actuation:
    """Applies remediations to the network, once per action id."""

    def __init__(self, network: NetworkPort) -> None:
        self.network = network
        self._ledger: dict[str, ActionOutcome] = {}

    def __call__(self, tool: str, target: str, ctx: Context) -> ActionOutcome:
        meta = ctx.request_context.meta or {}
        action_id = meta.get(ACTION_ID_META)
        if isinstance(action_id, str) and action_id in self._ledger:
            first = self._ledger[action_id]
            return first.model_copy(update={"detail": f"{first.detail} (action {action_id} was "
                                                      "already applied; not applied again)"})
        outcome = self._apply(tool, target)
        if isinstance(action_id, str):
            self._ledger[action_id] = outcome
        return outcome

    def _apply(self, tool: str, target: str) -> ActionOutcome:
        try:
            self.network.apply(tool, target)
        except KeyError:
            raise ToolError(f"target {target!r} is not an entity of this network") from None
        return ActionOutcome(tool=tool, target=target, applied=True, tick=self.network.tick,
                             detail=f"{tool} applied to {target}")


def _add_read_tools(server: MCPServer, network: NetworkPort) -> None:
    @server.tool(annotations=READ)
    async def get_entity_kpis(entity_id: EntityId) -> EntityKpis:
        """Return the KPIs an entity reported at the last tick."""
        try:
            kpis = network.latest_kpis(entity_id)
        except KeyError:
            raise ToolError(f"entity {entity_id!r} is not in this network") from None
        return EntityKpis(entity_id=entity_id, tick=network.tick, kpis=kpis)

    @server.tool(annotations=READ)
    async def get_topology_neighbourhood(entity_id: EntityId) -> Neighbourhood:
        """Return what an entity depends on and what depends on it directly."""
        records = network.topology_records()
        me = next((r for r in records if r.entity_id == entity_id), None)
        if me is None:
            raise ToolError(f"entity {entity_id!r} is not in this network")
        dependents = sorted(r.entity_id for r in records if entity_id in r.depends_on)
        return Neighbourhood(entity_id=entity_id, kind=me.kind.value, depends_on=me.depends_on,
                             dependents=dependents)

    @server.tool(annotations=READ)
    async def list_active_alarms() -> Alarms:
        """List the alarms equipment is raising now (hard failures only)."""
        return Alarms(tick=network.tick,
                      alarms=[Alarm(entity_id=e, text=t) for e, t in network.alarms()])


def _add_ran_tools(server: MCPServer, act: _Actuation) -> None:
    @server.tool(annotations=RESTART)
    async def restart_cell(cell_id: CellId, ctx: Context) -> ActionOutcome:
        """Restart a cell that is down (clears a cell outage)."""
        return act("restart_cell", cell_id, ctx)

    @server.tool(annotations=CHANGE)
    async def enable_load_balancing(cell_id: CellId, ctx: Context) -> ActionOutcome:
        """Offload users of a congested cell to its neighbours (mobility load balancing)."""
        return act("enable_load_balancing", cell_id, ctx)

    @server.tool(annotations=CHANGE)
    async def retune_frequency(cell_id: CellId, ctx: Context) -> ActionOutcome:
        """Move a cell to a cleaner carrier to escape interference."""
        return act("retune_frequency", cell_id, ctx)

    @server.tool(annotations=CHANGE)
    async def set_antenna_tilt(
        cell_id: CellId,
        ctx: Context,
        tilt_deg: Annotated[float, Field(ge=0.0, le=15.0, description="electrical downtilt, degrees")] = 4.0,
    ) -> ActionOutcome:
        """Set a cell's electrical antenna tilt (fixes a misconfigured antenna)."""
        return act("set_antenna_tilt", cell_id, ctx)

    @server.tool(annotations=CHANGE)
    async def reset_neighbour_relations(cell_id: CellId, ctx: Context) -> ActionOutcome:
        """Rebuild a cell's neighbour relation table (fixes failing handovers)."""
        return act("reset_neighbour_relations", cell_id, ctx)


def _add_core_and_transport_tools(server: MCPServer, act: _Actuation) -> None:
    @server.tool(annotations=CHANGE)
    async def scale_out_upf(
        upf_id: UpfId,
        ctx: Context,
        instances: Annotated[int, Field(ge=1, le=4, description="instances to add")] = 1,
    ) -> ActionOutcome:
        """Add user-plane instances to an overloaded UPF."""
        return act("scale_out_upf", upf_id, ctx)

    @server.tool(annotations=RESTART)
    async def restart_amf(amf_id: AmfId, ctx: Context) -> ActionOutcome:
        """Restart a degraded AMF (UEs re-register through its pool peers meanwhile)."""
        return act("restart_amf", amf_id, ctx)

    @server.tool(annotations=RESTART)
    async def restart_smf(smf_id: SmfId, ctx: Context) -> ActionOutcome:
        """Restart an SMF whose session establishment is failing."""
        return act("restart_smf", smf_id, ctx)

    @server.tool(annotations=CHANGE)
    async def reroute_link(link_id: LinkId, ctx: Context) -> ActionOutcome:
        """Move traffic of a degraded backhaul link onto an alternative path."""
        return act("reroute_link", link_id, ctx)

    @server.tool(annotations=CHANGE)
    async def failover_link(link_id: LinkId, ctx: Context) -> ActionOutcome:
        """Switch a failed backhaul link over to its protection path."""
        return act("failover_link", link_id, ctx)
