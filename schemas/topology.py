"""Topology records: one per entity, on a compacted topic keyed by entity id."""

from __future__ import annotations

from pydantic import Field

from schemas import topics
from schemas.base import Record
from schemas.kpis import Kind


class TopologyEntity(Record):
    """An entity of the network and the entities it depends on.

    ``depends_on`` points upstream: a cell depends on its gNB, a gNB on its
    backhaul link, a link on the UPF, SMF and AMF serving its site.
    """

    topic = topics.TOPOLOGY

    entity_id: str
    kind: Kind
    site: str | None = Field(default=None, description="site id for RAN and transport entities")
    depends_on: list[str] = Field(default_factory=list)
