"""Benign events as they happen: a crowd's demand at a site, an entity dark for planned work.

A surge raises demand by its factor (ramping up and down over 3–5 ticks):
more users, more PRBs in use (toward, never past, 90%), more throughput,
more backhaul use; quality KPIs (latency, loss, CQI, BLER, handovers, drops)
hold. Maintenance darkens its entity: a cell carries nothing and reports no
CQI, a link carries nothing (its traffic is on the protection path); a site
does both to its cells and its link. The work starts up to 2 ticks late and
ends up to 3 ticks early, inside the announced window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schemas import EntityKind, MaintenanceWindow
from simulator.events import PlannedEvent
from simulator.faults import CQI, PRB, TPUT, USERS, UTIL
from simulator.topology import Topology

_CAPACITY = 0.9  # PRB share a surge approaches but never reaches


@dataclass(frozen=True)
class _Live:
    event: PlannedEvent
    cells: np.ndarray
    links: np.ndarray
    begin: int  # first tick of the actual effect
    stop: int  # first tick after it
    ramp: int


class BenignEvents:
    """The scenario's benign events, applied to each tick's KPI matrices, and the calendar they announce."""

    def __init__(self, events: list[PlannedEvent], topo: Topology, rng: np.random.Generator) -> None:
        self.events = events
        self._live = [self._resolve(e, topo, rng) for e in events]
        self._announced: set[str] = set()

    @staticmethod
    def _resolve(e: PlannedEvent, topo: Topology, rng: np.random.Generator) -> _Live:
        kind, i = topo.index(e.target)
        if kind is EntityKind.CELL:
            cells, links = np.array([i]), np.zeros(0, dtype=int)
        elif kind is EntityKind.LINK:
            cells, links = np.zeros(0, dtype=int), np.array([i])
        else:
            cells, links = topo.cells_of_sites(np.array([i])), np.array([i])
        if e.type == "maintenance":
            begin = e.at + int(rng.integers(0, 3))
            stop = max(begin + 1, e.end - int(rng.integers(0, 4)))
            return _Live(e, cells, links, begin, stop, 1)
        return _Live(e, cells, links, e.at, e.end, int(rng.integers(3, 6)))

    def apply(self, values: dict[EntityKind, np.ndarray], t: int) -> None:
        """This tick's effect of every live event, in place."""
        for live in self._live:
            if not live.begin <= t < live.stop:
                continue
            if live.event.type == "maintenance":
                _dark(values, live)
            else:
                ramp = min(1.0, (t - live.begin + 1) / live.ramp, (live.stop - t) / live.ramp)
                _surge(values, live, 1.0 + (live.event.factor - 1.0) * ramp)

    def announcements(self, t: int) -> list[MaintenanceWindow]:
        """Maintenance windows announced at tick ``t`` (each once, ``notice`` ticks ahead)."""
        out = []
        for e in self.events:
            if e.type == "maintenance" and e.event_id not in self._announced and t >= e.at - e.notice:
                self._announced.add(e.event_id)
                out.append(window_of(e, announced=t))
        return out

    def calendar(self, t: int) -> list[MaintenanceWindow]:
        """Every window announced by tick ``t`` that has not ended."""
        return [window_of(e, announced=max(0, e.at - e.notice)) for e in self.events
                if e.type == "maintenance" and t >= e.at - e.notice and t < e.end]

    def active(self, t: int) -> list[PlannedEvent]:
        return [live.event for live in self._live if live.event.at <= t < live.event.end]


def window_of(e: PlannedEvent, *, announced: int) -> MaintenanceWindow:
    return MaintenanceWindow(window_id=e.event_id, entity_id=e.target, start_tick=e.at, end_tick=e.end,
                             announced_tick=announced, reason="planned maintenance")


def _dark(values: dict[EntityKind, np.ndarray], live: _Live) -> None:
    if len(live.cells):
        values[EntityKind.CELL][np.ix_(live.cells, [PRB, TPUT, USERS, CQI])] = 0.0
    if len(live.links):
        values[EntityKind.LINK][live.links, UTIL] = 0.0


def _surge(values: dict[EntityKind, np.ndarray], live: _Live, f: float) -> None:
    c = values[EntityKind.CELL]
    if len(live.cells):
        rows = live.cells
        prb = c[rows, PRB]
        grown = np.where(prb < _CAPACITY, prb + (_CAPACITY - prb) * (1.0 - 1.0 / f), prb)
        c[rows, TPUT] *= np.minimum(f, grown / np.maximum(prb, 1e-3))
        c[rows, USERS] *= f
        c[rows, PRB] = grown
    if len(live.links):
        u = values[EntityKind.LINK][live.links, UTIL]
        values[EntityKind.LINK][live.links, UTIL] = np.where(
            u < _CAPACITY, u + (_CAPACITY - u) * (1.0 - 1.0 / f), u)
