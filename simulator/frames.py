"""One tick of KPI matrices as the columnar telemetry frames the bus carries, one per shard and kind."""

from __future__ import annotations

import numpy as np

from schemas import EntityKind, TelemetryFrame, kpi_names
from simulator.topology import Topology

SHARD_SITES = 16  # sites per telemetry shard; core NFs share one shard


def frames(topo: Topology, tick: int, timestamp_s: float, values: dict[EntityKind, np.ndarray]
           ) -> list[TelemetryFrame]:
    """The frames of one tick: cells and links sharded by site, core NFs in one shard per kind."""
    out = []
    for kind, matrix in values.items():
        ids = topo.ids[kind]
        for shard, rows in _shards(topo, kind):
            out.append(TelemetryFrame.model_construct(
                shard=shard, tick=tick, timestamp_s=timestamp_s, kind=kind,
                entity_ids=ids[rows], kpis=list(kpi_names(kind)),
                values=matrix[rows].tolist(), schema_version=1))
    return out


def _shards(topo: Topology, kind: EntityKind) -> list[tuple[str, slice]]:
    if kind not in (EntityKind.CELL, EntityKind.LINK):
        return [("core", slice(None))]
    per_site = len(topo.ids[kind]) // topo.sites
    out = []
    for first in range(0, topo.sites, SHARD_SITES):
        last = min(first + SHARD_SITES, topo.sites)
        out.append((f"sites-{first + 1:04d}-{last:04d}", slice(first * per_site, last * per_site)))
    return out
