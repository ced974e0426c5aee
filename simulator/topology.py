"""Topology built from scenario counts, with fixed entity ids.

Ids: ``site-0003``, ``gnb-0003``, ``cell-0003-1`` (site 3, sector 1, 1-based),
``link-0003`` (backhaul of site 3), ``upf-1``, ``smf-1``, ``amf-1``.

Serving rule: site ``s`` (1-based) is served by ``upf-((s-1) % upf + 1)``,
``smf-((s-1) % smf + 1)`` and ``amf-((s-1) % amf + 1)``: round-robin.
Dependencies point upstream: cell → gNB → link → UPF, SMF, AMF.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from schemas import EntityKind, TopologyEntity


def site_id(s: int) -> str:
    return f"site-{s:04d}"


def cell_id(s: int, sector: int) -> str:
    return f"cell-{s:04d}-{sector}"


@dataclass(frozen=True)
class Topology:
    """Entity ids per kind and the index arrays that map cells and links to what serves them.

    Arrays are aligned with the id lists: ``cell_site[i]`` is the 0-based site of
    ``ids[CELL][i]``; ``site_upf[s]`` the 0-based UPF index of site ``s``.
    """

    ids: dict[EntityKind, list[str]]
    cell_site: np.ndarray
    site_upf: np.ndarray
    site_smf: np.ndarray
    site_amf: np.ndarray

    @classmethod
    def build(cls, *, sites: int, cells_per_site: int, upf: int, smf: int, amf: int) -> Topology:
        s = np.arange(sites)
        ids = {
            EntityKind.SITE: [site_id(i + 1) for i in s],
            EntityKind.GNB: [f"gnb-{i + 1:04d}" for i in s],
            EntityKind.CELL: [cell_id(i + 1, k + 1) for i in s for k in range(cells_per_site)],
            EntityKind.LINK: [f"link-{i + 1:04d}" for i in s],
            EntityKind.UPF: [f"upf-{i + 1}" for i in range(upf)],
            EntityKind.SMF: [f"smf-{i + 1}" for i in range(smf)],
            EntityKind.AMF: [f"amf-{i + 1}" for i in range(amf)],
        }
        return cls(
            ids=ids,
            cell_site=np.repeat(s, cells_per_site),
            site_upf=s % upf,
            site_smf=s % smf,
            site_amf=s % amf,
        )

    @property
    def sites(self) -> int:
        return len(self.ids[EntityKind.SITE])

    def index(self, entity_id: str) -> tuple[EntityKind, int]:
        """Kind and position of an entity; ``KeyError`` when unknown."""
        return self._index[entity_id]

    @cached_property
    def _index(self) -> dict[str, tuple[EntityKind, int]]:
        return {e: (k, i) for k, es in self.ids.items() for i, e in enumerate(es)}

    def sites_served_by(self, kind: EntityKind, index: int) -> np.ndarray:
        """0-based sites served by NF ``index`` of ``kind`` (UPF, SMF or AMF)."""
        serving = {EntityKind.UPF: self.site_upf, EntityKind.SMF: self.site_smf,
                   EntityKind.AMF: self.site_amf}[kind]
        return np.flatnonzero(serving == index)

    def cells_of_sites(self, sites: np.ndarray) -> np.ndarray:
        """0-based cell indices of the given 0-based sites."""
        return np.flatnonzero(np.isin(self.cell_site, sites))

    def records(self) -> list[TopologyEntity]:
        """The topology as records for the compacted topology topic."""
        ids = self.ids
        out: list[TopologyEntity] = []
        for kind in (EntityKind.UPF, EntityKind.SMF, EntityKind.AMF):
            out += [TopologyEntity(entity_id=e, kind=kind) for e in ids[kind]]
        for s in range(self.sites):
            site = ids[EntityKind.SITE][s]
            core = [ids[EntityKind.UPF][self.site_upf[s]], ids[EntityKind.SMF][self.site_smf[s]],
                    ids[EntityKind.AMF][self.site_amf[s]]]
            link, gnb = ids[EntityKind.LINK][s], ids[EntityKind.GNB][s]
            out.append(TopologyEntity(entity_id=site, kind=EntityKind.SITE, site=site))
            out.append(TopologyEntity(entity_id=link, kind=EntityKind.LINK, site=site, depends_on=core))
            out.append(TopologyEntity(entity_id=gnb, kind=EntityKind.GNB, site=site, depends_on=[link]))
        for c, s in enumerate(self.cell_site):
            out.append(TopologyEntity(entity_id=ids[EntityKind.CELL][c], kind=EntityKind.CELL,
                                      site=ids[EntityKind.SITE][s], depends_on=[ids[EntityKind.GNB][s]]))
        return out
