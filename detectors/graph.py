"""The topology as the localizer sees it: which cells each observable entity can affect."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from schemas import OBSERVABLE_KINDS, EntityKind, TopologyEntity


class TopologyGraph:
    """Reachability over ``depends_on`` edges, restricted to what telemetry observes.

    ``cells_of(e)`` are the cells downstream of ``e`` (the leaves where a
    transport or core fault shows up); ``upstream_of(e)`` the observable
    entities ``e`` depends on, directly or not.
    """

    def __init__(self, entities: Iterable[TopologyEntity] = ()) -> None:
        self._kind: dict[str, EntityKind] = {}
        self._up: dict[str, list[str]] = {}
        self._cells: dict[str, set[str]] = defaultdict(set)
        self._upstream: dict[str, set[str]] = {}
        for e in entities:
            self.add(e)

    def add(self, entity: TopologyEntity) -> None:
        self._kind[entity.entity_id] = entity.kind
        self._up[entity.entity_id] = list(entity.depends_on)
        self._upstream.clear()
        self._cells.clear()

    def __contains__(self, entity_id: str) -> bool:
        return entity_id in self._kind

    def kind(self, entity_id: str) -> EntityKind:
        return self._kind[entity_id]

    def upstream_of(self, entity_id: str) -> set[str]:
        if entity_id not in self._upstream:
            self._upstream[entity_id] = self._walk_up(entity_id)
        return self._upstream[entity_id]

    def cells_of(self, entity_id: str) -> set[str]:
        if not self._cells:
            for e, kind in self._kind.items():
                if kind is EntityKind.CELL:
                    for u in self.upstream_of(e):
                        self._cells[u].add(e)
        return self._cells.get(entity_id, set())

    def _walk_up(self, entity_id: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self._up.get(entity_id, ()))
        while stack:
            u = stack.pop()
            if u not in seen:
                seen.add(u)
                stack.extend(self._up.get(u, ()))
        return {u for u in seen if self._kind.get(u) in OBSERVABLE_KINDS}
