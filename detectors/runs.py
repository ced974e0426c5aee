"""Runs of anomalous ticks: how long each KPI of each entity has been anomalous without a break.

The incident tracker counts a KPI as evidence once its current run is
``persist`` ticks long: noise is independent from tick to tick and rarely
persists, a fault does.

>>> from schemas import AnomalyEvent
>>> runs = AnomalyRuns()
>>> for t in (10, 11, 12):
...     runs.observe(AnomalyEvent(entity_id="cell-1", kpi="cqi", tick=t, value=3.0, expected=11.0,
...                               score=9.0, detector="test"))
>>> anomalous, fresh = runs.window(12, window=3, persist=2)
>>> anomalous["cell-1"]["cqi"].onset, fresh, runs.length("cell-1", "cqi")
(10, {'cell-1'}, 3)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from detectors.localizer import Seen
from schemas import AnomalyEvent


@dataclass
class _Run:
    """One KPI's current run of anomalous ticks: where it started, its last tick, its largest score."""

    onset: int
    last: int
    score: float
    value: float
    expected: float

    @property
    def length(self) -> int:
        return self.last - self.onset + 1


class AnomalyRuns:
    """Entity → KPI → its current run of anomalous ticks."""

    def __init__(self) -> None:
        self._runs: dict[str, dict[str, _Run]] = defaultdict(dict)

    def observe(self, event: AnomalyEvent) -> None:
        """An anomaly event: it extends its KPI's run (or starts a new one after a gap)."""
        kpis = self._runs[event.entity_id]
        run = kpis.get(event.kpi)
        if run is not None and run.last in (event.tick, event.tick - 1):
            run.last = event.tick
            if event.score > run.score:
                run.score, run.value, run.expected = event.score, event.value, event.expected
        else:
            kpis[event.kpi] = _Run(event.tick, event.tick, event.score, event.value, event.expected)

    def latest(self) -> int:
        """The last tick any run reached (0 with none)."""
        return max((r.last for kpis in self._runs.values() for r in kpis.values()), default=0)

    def persistent(self, entity: str, tick: int, *, window: int, persist: int) -> bool:
        """Has ``entity`` a run at least ``persist`` long that reached the ``window`` ending at ``tick``?"""
        runs = self._runs.get(entity, {}).values()
        return any(r.last > tick - window and r.length >= persist for r in runs)

    def length(self, entity: str, kpi: str) -> int:
        """How long the KPI's current run is (0 with none)."""
        run = self._runs.get(entity, {}).get(kpi)
        return run.length if run is not None else 0

    def window(self, tick: int, *, window: int, persist: int) -> tuple[dict[str, dict[str, Seen]], set[str]]:
        """Runs at least ``persist`` long that reached the ``window`` ending at ``tick`` (entity → KPI →
        its run), and the entities with such a run at ``tick`` itself; older runs are forgotten."""
        horizon = tick - window
        anomalous: dict[str, dict[str, Seen]] = {}
        fresh: set[str] = set()
        for e, kpis in list(self._runs.items()):
            live = {k: r for k, r in kpis.items() if r.last > horizon}
            if not live:
                del self._runs[e]
                continue
            self._runs[e] = live
            long_enough = {k: Seen(r.onset, r.score, r.value, r.expected) for k, r in live.items()
                           if r.length >= persist}
            if long_enough:
                anomalous[e] = long_enough
            if any(r.last == tick and r.length >= persist for r in live.values()):
                fresh.add(e)
        return anomalous, fresh

    def __contains__(self, entity: object) -> bool:
        return entity in self._runs
