"""The NetMCP description of every tool, and which tool server carries which tools.

Two tool servers split the network: ``ran`` (cells) and ``core`` (core NFs and
transport links; deployable twice as a redundant pair). ``all`` is both in one
server, for a single process.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from netmcp.auth import NETWORK_ACT
from netmcp.constraints import ConfirmWhen, Derived, Range, Rule
from netmcp.spec import Category, Domain, Permission, ToolSpec

ACTUATOR = "netloop-actuator"
"""The client id of netloop's own actuator: the one agent allowed to restart core NFs."""

N78 = (3300.0, 3800.0)  # MHz: the band the simulated cells transmit in


def _cleanest_carrier(args: Mapping[str, Any]) -> float:
    """The carrier the server picks when the caller does not name one: stable per cell."""
    slot = zlib.crc32(str(args.get("cell_id", "")).encode()) % 11
    return 3400.0 + 20.0 * slot


def _read(name: str, domain: Domain, *labels: str) -> ToolSpec:
    return ToolSpec(name, domain, Category.SENSING, Permission.PUBLIC, labels=labels)


def _act(name: str, domain: Domain, category: Category, *labels: str, **kw: Any) -> ToolSpec:
    return ToolSpec(name, domain, category, kw.pop("permission", Permission.TOKEN), NETWORK_ACT,
                    labels=labels, **kw)


_RESTART_NF = {
    "permission": Permission.AGENTS,
    "agents": frozenset({ACTUATOR}),
    "constraints": (Range("drain_s", ge=0, le=600),
                    ConfirmWhen(("drain_s",), lambda d: d < 30,
                                "drain_s < 30 drops the sessions the NF holds; rules cannot "
                                "tell whether that is acceptable now")),
    "derived": (Derived("drain_s", lambda a: 60, "60 s: long enough to hand sessions to pool peers"),),
}

SPECS: dict[str, ToolSpec] = {s.name: s for s in (
    _read("get_entity_kpis", Domain.ANY, "kpi", "measurement"),
    _read("get_topology_neighbourhood", Domain.ANY, "topology", "dependency"),
    _read("list_active_alarms", Domain.ANY, "alarm", "fault"),
    _read("get_maintenance_calendar", Domain.ANY, "maintenance", "calendar", "planned"),
    _read("get_cell_status", Domain.RAN, "cell", "radio", "kpi", "alarm"),
    _read("get_nf_status", Domain.CORE, "upf", "smf", "amf", "kpi"),
    _read("get_link_status", Domain.TRANSPORT, "link", "backhaul", "kpi", "alarm"),
    _act("restart_cell", Domain.RAN, Category.RECOVERY, "cell", "outage", "down", "restart"),
    _act("enable_load_balancing", Domain.RAN, Category.PERFORMANCE, "cell", "congestion", "load",
         constraints=(Range("offload_ratio", ge=0.05, le=0.5), Range("max_neighbours", ge=1, le=8),
                      Rule(("offload_ratio", "max_neighbours"), lambda r, n: r <= 0.1 * n,
                           "offload_ratio <= 0.1 * max_neighbours (a neighbour takes at most 10%)")),
         derived=(Derived("max_neighbours", lambda a: 4, "4 strongest neighbours"),)),
    _act("retune_frequency", Domain.RAN, Category.PERFORMANCE, "cell", "interference", "carrier",
         constraints=(Range("carrier_mhz", ge=N78[0], le=N78[1]), Range("bandwidth_mhz", ge=10, le=100),
                      Rule(("carrier_mhz", "bandwidth_mhz"),
                           lambda c, b: N78[0] <= c - b / 2 and c + b / 2 <= N78[1],
                           "the channel carrier_mhz ± bandwidth_mhz/2 stays inside n78 (3300–3800 MHz)")),
         derived=(Derived("carrier_mhz", _cleanest_carrier, "the cleanest carrier the cell measured"),
                  Derived("bandwidth_mhz", lambda a: 40.0, "the cell's configured 40 MHz"))),
    _act("set_antenna_tilt", Domain.RAN, Category.PERFORMANCE, "cell", "antenna", "coverage",
         constraints=(Range("tilt_deg", ge=0, le=15), Range("mechanical_tilt_deg", ge=0, le=10),
                      Rule(("tilt_deg", "mechanical_tilt_deg"), lambda e, m: e + m <= 15,
                           "tilt_deg + mechanical_tilt_deg <= 15 (total downtilt)")),
         derived=(Derived("mechanical_tilt_deg", lambda a: 0.0, "the mast's installed mechanical tilt"),)),
    _act("reset_neighbour_relations", Domain.RAN, Category.CONNECTIVITY, "cell", "handover",
         "mobility"),
    _act("scale_out_upf", Domain.CORE, Category.PERFORMANCE, "upf", "user-plane", "overload",
         constraints=(Range("instances", ge=1, le=4),)),
    _act("restart_amf", Domain.CORE, Category.RECOVERY, "amf", "registration", "restart", **_RESTART_NF),
    _act("restart_smf", Domain.CORE, Category.RECOVERY, "smf", "session", "restart", **_RESTART_NF),
    _act("reroute_link", Domain.TRANSPORT, Category.CONNECTIVITY, "link", "backhaul", "degradation",
         constraints=(Range("max_utilization_ratio", ge=0.5, le=0.95),),
         derived=(Derived("max_utilization_ratio", lambda a: 0.8, "80% on the alternative path"),)),
    _act("failover_link", Domain.TRANSPORT, Category.RECOVERY, "link", "backhaul", "down", "protection"),
    _act("rollback_change", Domain.ANY, Category.RECOVERY, "rollback", "undo", "configuration"),
)}

ROLES: dict[str, frozenset[str]] = {
    "ran": frozenset(n for n, s in SPECS.items() if s.domain in (Domain.RAN, Domain.ANY)),
    "core": frozenset(n for n, s in SPECS.items() if s.domain in (Domain.CORE, Domain.TRANSPORT, Domain.ANY)),
    "all": frozenset(SPECS),
}
"""Tool names per tool-server role."""

SCOPES_OF_ROLE: dict[str, tuple[tuple[str, ...], str]] = {
    "ran": (("ran", "cell", "radio", "gnb"),
            "Radio access network: cells of the gNBs; restart, load balancing, retuning, antenna tilt, "
            "neighbour relations; cell KPIs and alarms."),
    "core": (("core", "transport", "upf", "smf", "amf", "link", "backhaul"),
             "5G core (UPF, SMF, AMF) and backhaul links: scale out, restart, reroute, fail over; NF and "
             "link status."),
    "all": (("ran", "core", "transport", "cell", "upf", "smf", "amf", "link"),
            "A whole 5G network: RAN cells, core NFs and backhaul links, read and remediate."),
}
"""Per role: the labels and the capability summary a tool server registers, and judges NF tools by."""
