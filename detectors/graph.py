"""The topology as the localizer sees it: who depends on whom, among the entities telemetry observes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from schemas import EntityKind, TopologyEntity
from schemas.catalogue import Catalogue, builtin_catalogue


class TopologyGraph:
    """Reachability over ``depends_on`` edges, restricted to what telemetry observes.

    ``parents(e)`` are the nearest observable entities ``e`` depends on (walking
    through unobserved ones such as a gNB); ``upstream_of(e)`` all observable
    entities it depends on, directly or not; ``reach(e)`` the observable
    entities that depend on ``e`` (where a fault of ``e`` can show), and
    ``cells_of(e)`` those of them that are cells. Caches are rebuilt after a change.

    Examples
    --------
    >>> g = TopologyGraph([TopologyEntity(entity_id="upf-1", kind=EntityKind.UPF),
    ...                    TopologyEntity(entity_id="link-1", kind=EntityKind.LINK, depends_on=["upf-1"]),
    ...                    TopologyEntity(entity_id="gnb-1", kind=EntityKind.GNB, depends_on=["link-1"]),
    ...                    TopologyEntity(entity_id="cell-1", kind=EntityKind.CELL, depends_on=["gnb-1"])])
    >>> g.parents("cell-1"), sorted(g.reach("upf-1")), g.cells_of("link-1")
    ({'link-1'}, ['cell-1', 'link-1'], {'cell-1'})
    """

    def __init__(self, entities: Iterable[TopologyEntity] = (), *,
                 catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue or builtin_catalogue()
        self._observable = frozenset(self.catalogue.observable)
        self._kind: dict[str, str] = {}
        self._up: dict[str, list[str]] = {}
        self._upstream: dict[str, set[str]] = {}
        self._parents: dict[str, set[str]] = {}
        self._reach: dict[str, set[str]] | None = None
        self._reach_kind: dict[tuple[str, str], int] = {}
        for e in entities:
            self.add(e)

    def add(self, entity: TopologyEntity) -> None:
        self._kind[entity.entity_id] = entity.kind
        self._up[entity.entity_id] = list(entity.depends_on)
        self._upstream.clear()
        self._parents.clear()
        self._reach = None
        self._reach_kind.clear()

    def __contains__(self, entity_id: str) -> bool:
        return entity_id in self._kind

    def __len__(self) -> int:
        return len(self._kind)

    def kind(self, entity_id: str) -> str:
        """Its kind (a built-in one as its :class:`EntityKind`)."""
        return self._kind[entity_id]

    def observable(self, entity_id: str) -> bool:
        """Its kind reports KPIs (the catalogue says so)."""
        return self._kind.get(entity_id) in self._observable

    def width(self, entity_id: str) -> int:
        """How many KPIs its kind reports."""
        return len(self.catalogue.kpis(self._kind[entity_id]))

    def upstream_of(self, entity_id: str) -> set[str]:
        if entity_id not in self._upstream:
            self._upstream[entity_id] = {u for u in self._walk_up(entity_id) if self.observable(u)}
        return self._upstream[entity_id]

    def parents(self, entity_id: str) -> set[str]:
        """The nearest observable entities upstream: through unobserved ones, not past observed ones."""
        if entity_id not in self._parents:
            found: set[str] = set()
            seen: set[str] = set()
            stack = list(self._up.get(entity_id, ()))
            while stack:
                u = stack.pop()
                if u in seen:
                    continue
                seen.add(u)
                if self.observable(u):
                    found.add(u)
                else:
                    stack.extend(self._up.get(u, ()))
            self._parents[entity_id] = found
        return self._parents[entity_id]

    def reach(self, entity_id: str) -> set[str]:
        """The observable entities that depend on ``entity_id``, directly or not."""
        if self._reach is None:
            reach: dict[str, set[str]] = defaultdict(set)
            for e in self._kind:
                if self.observable(e):
                    for u in self.upstream_of(e):
                        reach[u].add(e)
            self._reach = dict(reach)
        return self._reach.get(entity_id, set())

    def cells_of(self, entity_id: str) -> set[str]:
        return {e for e in self.reach(entity_id) if self._kind[e] is EntityKind.CELL}

    def count(self, kind: str) -> int:
        """How many entities of ``kind`` the topology has."""
        return sum(k == kind for k in self._kind.values())

    def reach_count(self, entity_id: str, kind: str) -> int:
        """How many entities of ``kind`` depend on ``entity_id``."""
        key = (entity_id, kind)
        if key not in self._reach_kind:
            self._reach_kind[key] = sum(self._kind[e] == kind for e in self.reach(entity_id))
        return self._reach_kind[key]

    def _walk_up(self, entity_id: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self._up.get(entity_id, ()))
        while stack:
            u = stack.pop()
            if u not in seen:
                seen.add(u)
                stack.extend(self._up.get(u, ()))
        return seen
