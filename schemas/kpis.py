"""KPI catalogue: the KPIs each entity kind reports, with units and bad direction.

The catalogue is shared by the simulator (what it emits), the detectors (which
direction alarms) and the NetMCP read tools (what they describe). Units are in
the names, so one text serves JSON Schema, tool schemas and docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints


class EntityKind(StrEnum):
    """Kinds of entity in the network topology."""

    SITE = "site"
    GNB = "gnb"
    CELL = "cell"
    LINK = "link"
    UPF = "upf"
    SMF = "smf"
    AMF = "amf"


def as_kind(name: str) -> str:
    """A kind's name as the loop keeps it: a built-in kind as its :class:`EntityKind` member (so
    ``kind is EntityKind.CELL`` holds), any other kind a catalogue declares as the plain name.

    >>> as_kind("cell") is EntityKind.CELL, as_kind("router")
    (True, 'router')
    """
    try:
        return EntityKind(name)
    except ValueError:
        return name


Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64), AfterValidator(as_kind)]
"""An entity kind in a record: a built-in one or one the deployment's catalogue declares."""


class Direction(StrEnum):
    """Which way a KPI moves when things get worse."""

    UP = "up"  # higher is worse (latency, loss, errors)
    DOWN = "down"  # lower is worse (throughput, CQI, success ratios)
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class Kpi:
    """One KPI: its name (unit in the name), bad direction and a description."""

    name: str
    bad: Direction
    description: str


CELL_KPIS: tuple[Kpi, ...] = (
    Kpi("prb_utilization_ratio", Direction.BOTH, "share of physical resource blocks in use, 0..1"),
    Kpi("throughput_mbps", Direction.DOWN, "downlink throughput in Mbit/s"),
    Kpi("active_users", Direction.DOWN, "connected users with active sessions"),
    Kpi("latency_ms", Direction.UP, "user-plane round-trip latency in ms"),
    Kpi("packet_loss_ratio", Direction.UP, "share of packets lost, 0..1"),
    Kpi("cqi", Direction.DOWN, "mean channel quality indicator, 0..15"),
    Kpi("bler_ratio", Direction.UP, "block error rate, 0..1"),
    Kpi("handover_success_ratio", Direction.DOWN, "share of successful handovers, 0..1"),
    Kpi("drop_rate_ratio", Direction.UP, "share of calls/sessions dropped, 0..1"),
)

NF_KPIS: tuple[Kpi, ...] = (
    Kpi("cpu_utilization_ratio", Direction.UP, "CPU utilisation of the NF, 0..1"),
    Kpi("memory_utilization_ratio", Direction.UP, "memory utilisation of the NF, 0..1"),
    Kpi("request_rate_per_s", Direction.BOTH, "signalling or packet requests handled per second"),
    Kpi("error_rate_ratio", Direction.UP, "share of requests that failed, 0..1"),
    Kpi("latency_ms", Direction.UP, "request processing latency in ms"),
)

LINK_KPIS: tuple[Kpi, ...] = (
    Kpi("utilization_ratio", Direction.BOTH, "share of link capacity in use, 0..1"),
    Kpi("latency_ms", Direction.UP, "one-way latency in ms"),
    Kpi("packet_loss_ratio", Direction.UP, "share of packets lost, 0..1"),
)

KPIS_BY_KIND: dict[EntityKind, tuple[Kpi, ...]] = {
    EntityKind.CELL: CELL_KPIS,
    EntityKind.LINK: LINK_KPIS,
    EntityKind.UPF: NF_KPIS,
    EntityKind.SMF: NF_KPIS,
    EntityKind.AMF: NF_KPIS,
}

OBSERVABLE_KINDS: tuple[EntityKind, ...] = tuple(KPIS_BY_KIND)


def kpi_names(kind: EntityKind) -> tuple[str, ...]:
    """Names of the KPIs an entity kind reports, in frame column order.

    >>> kpi_names(EntityKind.LINK)
    ('utilization_ratio', 'latency_ms', 'packet_loss_ratio')
    """
    return tuple(k.name for k in KPIS_BY_KIND[kind])


def kind_of(entity_id: str) -> EntityKind:
    """The kind of an entity from its id prefix.

    >>> kind_of("cell-0003-1")
    <EntityKind.CELL: 'cell'>
    """
    return EntityKind(entity_id.split("-", 1)[0])
