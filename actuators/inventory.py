"""What the network publishes about itself, as the acting side keeps it: topology, calendar, alarms.

Fed from the bus (``netloop.topology``, ``netloop.maintenance``,
``netloop.alarms``); nothing here sees the network's hidden state. The
topology may be wrong in places, as any inventory is.

>>> from schemas import EntityKind, TopologyEntity, MaintenanceWindow
>>> inv = Inventory()
>>> for e in (TopologyEntity(entity_id="link-1", kind=EntityKind.LINK, site="site-1"),
...           TopologyEntity(entity_id="gnb-1", kind=EntityKind.GNB, site="site-1", depends_on=["link-1"]),
...           TopologyEntity(entity_id="cell-1", kind=EntityKind.CELL, site="site-1", depends_on=["gnb-1"])):
...     inv.add(e)
>>> inv.cells_behind("link-1")
['cell-1']
>>> inv.announce(MaintenanceWindow(window_id="MW1", entity_id="site-1", start_tick=10, end_tick=20,
...                                announced_tick=0))
>>> inv.maintenance("cell-1", 15).window_id
'MW1'
"""

from __future__ import annotations

from collections import defaultdict

from schemas import AlarmEvent, EntityKind, MaintenanceWindow, TopologyEntity

EQUIPMENT = "equipment"  # the X.733 probable-cause family of hardware alarms
_MAX_WINDOWS = 10_000
_MAX_ALARMS = 10_000


class Inventory:
    """Topology, maintenance calendar and active alarms, bounded."""

    def __init__(self) -> None:
        self._entities: dict[str, TopologyEntity] = {}
        self._down: dict[str, list[str]] | None = None  # entity -> entities that depend on it directly
        self._by_site: dict[str, list[TopologyEntity]] | None = None
        self._windows: dict[str, MaintenanceWindow] = {}
        self._alarms: dict[str, AlarmEvent] = {}

    # --- feeding -----------------------------------------------------------------------------

    def add(self, entity: TopologyEntity) -> None:
        self._entities[entity.entity_id] = entity
        self._down = self._by_site = None

    def announce(self, window: MaintenanceWindow) -> None:
        self._windows[window.window_id] = window
        if len(self._windows) > _MAX_WINDOWS:
            oldest = min(self._windows.values(), key=lambda w: w.end_tick)
            del self._windows[oldest.window_id]

    def alarm(self, event: AlarmEvent) -> None:
        if event.cleared:
            self._alarms.pop(event.alarm_id, None)
        elif len(self._alarms) < _MAX_ALARMS or event.alarm_id in self._alarms:
            self._alarms[event.alarm_id] = event

    # --- topology ----------------------------------------------------------------------------

    def kind(self, entity_id: str) -> EntityKind | None:
        e = self._entities.get(entity_id)
        return e.kind if e else None

    def site_of(self, entity_id: str) -> str | None:
        e = self._entities.get(entity_id)
        return e.site if e else None

    def upstream(self, entity_id: str) -> list[str]:
        """What ``entity_id`` depends on, directly or not, as published."""
        seen: list[str] = []
        stack = list(self._entities[entity_id].depends_on) if entity_id in self._entities else []
        while stack:
            u = stack.pop()
            if u not in seen:
                seen.append(u)
                stack.extend(self._entities[u].depends_on if u in self._entities else ())
        return seen

    def suspects_above(self, entity_id: str) -> set[str]:
        """What ``entity_id`` depends on, and what the entities at its site (its gNB, its backhaul)
        depend on: an inventory's edges can be wrong or missing, its sites less often."""
        site = self.site_of(entity_id)
        at_site = self._sites().get(site, []) if site else []
        near = {e.entity_id for e in at_site
                if e.entity_id != entity_id and e.kind not in (EntityKind.CELL, EntityKind.SITE)}
        out = set(self.upstream(entity_id)) | near
        for e in near:
            out |= set(self.upstream(e))
        return out

    def _sites(self) -> dict[str, list[TopologyEntity]]:
        if self._by_site is None:
            by: dict[str, list[TopologyEntity]] = defaultdict(list)
            for e in self._entities.values():
                if e.site:
                    by[e.site].append(e)
            self._by_site = dict(by)
        return self._by_site

    def cells_behind(self, entity_id: str) -> list[str]:
        """The cells whose dependencies lead to ``entity_id`` (a cell: itself), as published."""
        if self.kind(entity_id) is EntityKind.CELL:
            return [entity_id]
        down = self._downstream()
        seen, stack, cells = {entity_id}, [entity_id], []
        while stack:
            for d in down.get(stack.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    stack.append(d)
                    if self.kind(d) is EntityKind.CELL:
                        cells.append(d)
        return sorted(cells)

    def _downstream(self) -> dict[str, list[str]]:
        if self._down is None:
            down: dict[str, list[str]] = defaultdict(list)
            for e in self._entities.values():
                for u in e.depends_on:
                    down[u].append(e.entity_id)
            self._down = dict(down)
        return self._down

    # --- calendar and alarms -----------------------------------------------------------------

    def maintenance(self, entity_id: str, tick: int, *, grace: int = 0) -> MaintenanceWindow | None:
        """A window covering ``entity_id`` at ``tick`` (± ``grace``): on it, or on its site."""
        site = self.site_of(entity_id)
        for w in self._windows.values():
            if w.start_tick - grace <= tick < w.end_tick + grace and w.entity_id in (entity_id, site):
                return w
        return None

    def hardware_alarm(self, entity_id: str) -> AlarmEvent | None:
        """An active equipment (hardware) alarm of ``entity_id``."""
        return next((a for a in self._alarms.values()
                     if a.entity_id == entity_id and a.probable_cause == EQUIPMENT), None)

    def forget_before(self, tick: int) -> None:
        """Drop windows that ended before ``tick``."""
        self._windows = {k: w for k, w in self._windows.items() if w.end_tick >= tick}
