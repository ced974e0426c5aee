"""The digital twin: copies of the simulated network, stepped forward with and without an action.

Both copies share the random state, so their noise is identical and any
difference between them is the action's effect. A twin of a real network
would be fed by its telemetry instead; the loop only needs :meth:`NetworkTwin.predict`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from schemas import KPIS_BY_KIND, Direction, EntityKind, ToolCall, TwinPrediction
from simulator.network import Network
from simulator.traffic import daily_load

_SIGN = {Direction.UP: 1.0, Direction.DOWN: -1.0, Direction.BOTH: 0.0}


class NetworkTwin:
    """Predicts what a tool call would do to the watched entities' KPIs over a few ticks.

    Parameters
    ----------
    network
        The live simulated network; it is copied, never changed.
    min_improvement
        Improvement (baseline sigmas summed over entities, KPIs and ticks) below
        which an action is not predicted to help.
    """

    def __init__(self, network: Network, *, min_improvement: float = 1.0) -> None:
        self.network, self.min_improvement = network, min_improvement

    def predict(self, call: ToolCall, *, watch: Sequence[str], horizon: int) -> TwinPrediction:
        """Step two copies ``horizon`` ticks, one after ``call``; compare the watched KPIs."""
        without, acted = self.network.twin(), self.network.twin()
        acted.apply(call.tool, call.target)
        rows = self._rows([*watch, call.target])
        bad_without = bad_with = 0.0
        for _ in range(horizon):
            t = without.tick
            without.step()
            acted.step()
            bad_without += self._badness(without, rows, t)
            bad_with += self._badness(acted, rows, t)
        improvement = bad_without - bad_with
        return TwinPrediction(horizon_ticks=horizon, watched=sum(len(r) for r in rows.values()),
                              badness_without=round(bad_without, 2), badness_with=round(bad_with, 2),
                              improvement=round(improvement, 2),
                              improves=improvement > self.min_improvement)

    def _rows(self, ids: Sequence[str]) -> dict[EntityKind, np.ndarray]:
        by_kind: dict[EntityKind, set[int]] = {}
        for entity_id in ids:
            try:
                kind, i = self.network.topology.index(entity_id)
            except KeyError:
                continue
            if kind in self.network.models:
                by_kind.setdefault(kind, set()).add(i)
        return {k: np.array(sorted(v)) for k, v in by_kind.items()}

    def _badness(self, net: Network, rows: dict[EntityKind, np.ndarray], t: int) -> float:
        load = daily_load(t * net.scenario.tick_seconds)
        total = 0.0
        for kind, r in rows.items():
            m = net.models[kind]
            healthy = m.base[r] + m.gain[r] * load
            z = (net.latest[kind][r] - healthy) / np.maximum(m.noise[r], 1e-9)
            sign = np.array([_SIGN[k.bad] for k in KPIS_BY_KIND[kind]])
            total += float(np.where(sign == 0, np.abs(z), np.maximum(z * sign, 0.0)).sum())
        return total
