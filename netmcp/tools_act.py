"""Remediation tools: each one fixes one fault type of the catalogue, in the RAN, core or transport.

Parameters a NetMCP server derives (``carrier_mhz``, ``drain_s``, ...) are
optional here: the verifying interceptor fills them in before the call
reaches the tool, and a server without the extension falls back to the same
values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from netmcp.catalog import SPECS
from netmcp.constraints import fill_derived
from netmcp.models import ActionOutcome, AmfId, CellId, EntityId, LinkId, SmfId, UpfId
from netmcp.notices import ClientLogLevels
from netmcp.port import NetworkPort
from netmcp.spec import META_TRACE

# A remediation changes the network; repeating it leaves the network as after the first call.
CHANGE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True,
                         openWorldHint=False)
# Restarts interrupt service while they run.
RESTART = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True,
                          openWorldHint=False)
RESTARTS = frozenset({"restart_cell", "restart_amf", "restart_smf"})

Register = Callable[[Callable[..., Any], ToolAnnotations], None]
Num = float | None


def add_act_tools(register: Register, network: NetworkPort, names: frozenset[str],
                  notices: ClientLogLevels) -> None:
    """Register the remediation tools among ``names``; each change is also a log notice to clients."""
    act = _Actuation(network, notices)
    for fn in _act_tools(act):
        if fn.__name__ in names:
            register(fn, RESTART if fn.__name__ in RESTARTS else CHANGE)


class _Actuation:
    """Applies one remediation to the network and says what it applied."""

    def __init__(self, network: NetworkPort, notices: ClientLogLevels) -> None:
        self.network, self.notices = network, notices

    async def __call__(self, tool: str, target: str, ctx: Context, **params: Any) -> ActionOutcome:
        given = {k: v for k, v in params.items() if v is not None}
        fill_derived(SPECS[tool].derived, given)
        try:
            done = self.network.apply(tool, target, given)
        except KeyError:
            raise ToolError(f"target {target!r} is not an entity of this network") from None
        if getattr(done, "ok", True) is False:
            raise ToolError(str(getattr(done, "detail", f"{tool} on {target} failed")))
        trace = (ctx.request_context.meta or {}).get(META_TRACE)
        outcome = ActionOutcome(tool=tool, target=target, applied=True, tick=self.network.tick,
                                detail=f"{tool} applied to {target}", parameters=given,
                                trace_id=trace if isinstance(trace, str) else None)
        await self.notices.notice(ctx.request_context.session, outcome.model_dump(mode="json"))
        return outcome


def _act_tools(act: _Actuation) -> list[Callable[..., Any]]:
    async def restart_cell(cell_id: CellId, ctx: Context) -> ActionOutcome:
        """Restart a cell that is down (clears a cell outage)."""
        return await act("restart_cell", cell_id, ctx)

    async def enable_load_balancing(
        cell_id: CellId, ctx: Context,
        offload_ratio: Annotated[float, Field(description="share of the cell's users to move")] = 0.2,
        max_neighbours: Annotated[int | None, Field(description="neighbours that take users")] = None,
    ) -> ActionOutcome:
        """Offload users of a congested cell to its neighbours (mobility load balancing)."""
        return await act("enable_load_balancing", cell_id, ctx, offload_ratio=offload_ratio,
                   max_neighbours=max_neighbours)

    async def retune_frequency(
        cell_id: CellId, ctx: Context,
        carrier_mhz: Annotated[Num, Field(description="new carrier centre, MHz")] = None,
        bandwidth_mhz: Annotated[Num, Field(description="channel bandwidth, MHz")] = None,
    ) -> ActionOutcome:
        """Move a cell to a cleaner carrier to escape interference."""
        return await act("retune_frequency", cell_id, ctx, carrier_mhz=carrier_mhz,
                         bandwidth_mhz=bandwidth_mhz)

    async def set_antenna_tilt(
        cell_id: CellId, ctx: Context,
        tilt_deg: Annotated[float, Field(description="electrical downtilt, degrees")] = 4.0,
        mechanical_tilt_deg: Annotated[Num, Field(description="mechanical downtilt, degrees")] = None,
    ) -> ActionOutcome:
        """Set a cell's electrical antenna tilt (fixes a misconfigured antenna)."""
        return await act("set_antenna_tilt", cell_id, ctx, tilt_deg=tilt_deg,
                   mechanical_tilt_deg=mechanical_tilt_deg)

    async def reset_neighbour_relations(cell_id: CellId, ctx: Context) -> ActionOutcome:
        """Rebuild a cell's neighbour relation table (fixes failing handovers)."""
        return await act("reset_neighbour_relations", cell_id, ctx)

    async def scale_out_upf(
        upf_id: UpfId, ctx: Context,
        instances: Annotated[int, Field(description="user-plane instances to add")] = 1,
    ) -> ActionOutcome:
        """Add user-plane instances to an overloaded UPF."""
        return await act("scale_out_upf", upf_id, ctx, instances=instances)

    async def restart_amf(
        amf_id: AmfId, ctx: Context,
        drain_s: Annotated[int | None, Field(description="seconds to hand UEs to pool peers first")] = None,
    ) -> ActionOutcome:
        """Restart a degraded AMF (UEs re-register through its pool peers meanwhile)."""
        return await act("restart_amf", amf_id, ctx, drain_s=drain_s)

    async def restart_smf(
        smf_id: SmfId, ctx: Context,
        drain_s: Annotated[int | None, Field(description="seconds to move sessions to pool peers")] = None,
    ) -> ActionOutcome:
        """Restart an SMF whose session establishment is failing."""
        return await act("restart_smf", smf_id, ctx, drain_s=drain_s)

    async def reroute_link(
        link_id: LinkId, ctx: Context,
        max_utilization_ratio: Annotated[Num, Field(description="load cap on the alternative path")] = None,
    ) -> ActionOutcome:
        """Move traffic of a degraded backhaul link (latency and packet loss up) onto an alternative path."""
        return await act("reroute_link", link_id, ctx, max_utilization_ratio=max_utilization_ratio)

    async def failover_link(link_id: LinkId, ctx: Context) -> ActionOutcome:
        """Switch a backhaul link that went down (loss of signal) over to its protection path."""
        return await act("failover_link", link_id, ctx)

    async def rollback_change(entity_id: EntityId, ctx: Context) -> ActionOutcome:
        """Restore an entity's configuration from before its last reversible change (undo a remediation)."""
        return await act("rollback_change", entity_id, ctx)

    return [restart_cell, enable_load_balancing, retune_frequency, set_antenna_tilt,
            reset_neighbour_relations, scale_out_upf, restart_amf, restart_smf, reroute_link,
            failover_link, rollback_change]
