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

    def resolve(self, target: str | None, kinds: tuple[EntityKind, ...], *, field: str, what: str,
                rng: np.random.Generator) -> str:
        """A scenario's target: ``target`` checked to be one of ``kinds``, or a random one of the first.

        Raises
        ------
        ValueError
            Naming ``field`` when the target does not exist or is of another kind.
        """
        if target is None:
            return str(rng.choice(self.ids[kinds[0]]))
        try:
            kind, _ = self.index(target)
        except KeyError:
            raise ValueError(f"{field}: {target!r} is not an entity of this topology") from None
        if kind not in kinds:
            names = " or ".join(k.value for k in kinds)
            raise ValueError(f"{field}: {what} needs a {names}, {target!r} is a {kind.value}")
        return target

    def cells_behind(self, kind: EntityKind, index: int) -> np.ndarray:
        """0-based cells a fault of entity ``index`` of ``kind`` reaches (a cell: itself)."""
        if kind is EntityKind.CELL:
            return np.array([index])
        if kind is EntityKind.LINK:
            return self.cells_of_sites(np.array([index]))
        return self.cells_of_sites(self.sites_served_by(kind, index))

    def siblings(self, kind: EntityKind, index: int) -> np.ndarray:
        """The other cells of a cell's site (nothing for other kinds)."""
        if kind is not EntityKind.CELL:
            return np.zeros(0, dtype=int)
        same = self.cells_of_sites(np.array([self.cell_site[index]]))
        return same[same != index]

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


def perturbed(records: list[TopologyEntity], rate: float, rng: np.random.Generator) -> list[TopologyEntity]:
    """The topology as an inventory would publish it: each dependency edge, with chance ``rate``,
    missing (half the time) or pointing at another entity of the same kind.

    >>> topo = Topology.build(sites=2, cells_per_site=1, upf=1, smf=1, amf=1)
    >>> perturbed(topo.records(), 0.0, np.random.default_rng(0)) == topo.records()
    True
    """
    if not rate:
        return records
    by_kind: dict[EntityKind, list[str]] = {}
    kind_of = {r.entity_id: r.kind for r in records}
    for r in records:
        by_kind.setdefault(r.kind, []).append(r.entity_id)
    out = []
    for r in records:
        deps = []
        for d in r.depends_on:
            if rng.random() >= rate:
                deps.append(d)
            elif rng.random() < 0.5:
                others = [e for e in by_kind[kind_of[d]] if e != d and e not in r.depends_on]
                if others:
                    deps.append(str(rng.choice(others)))
        out.append(r if deps == r.depends_on else r.model_copy(update={"depends_on": deps}))
    return out
