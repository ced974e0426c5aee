"""``netloop bench``: throughput of the hot paths, each beside a baseline measured in the same run.

- detectors: KPI values per second through the default detector set (the
  detect stage's: the likelihood detector behind its onset filter) on
  pre-built frames of the simulator's cells, batch vs. one entity row at a
  time, beside the previous default (Holt + CUSUM + z filter), a bare numpy
  EWMA update (the ceiling), and half-space trees
  both ways: river's one sample at a time, :class:`detectors.HalfSpaceTrees`
  on the whole frame;
- end to end: entity reports per second through the embedded loop (simulate, encode,
  decode, detect, localize, decide, act over MCP, verify) on a large quiet scenario.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np

from detectors import (
    AnomalyFilter,
    HalfSpaceTrees,
    LevelShift,
    OnsetFilter,
    ZThreshold,
    default_filter,
    directions_of,
)
from schemas import EntityKind
from simulator import Network, parse_scenario
from streams.runtime.embedded import EmbeddedLoop
from streams.settings import Settings


def _rate(work: Callable[[], int], min_seconds: float = 1.0) -> float:
    """Values per second of ``work`` (which returns how many values it processed), after one untimed
    call (a compiled detector loads its machine code on its first call)."""
    work()
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        done += work()
    return done / elapsed


def _frames(sites: int, steps: int) -> np.ndarray:
    """``steps`` ticks of healthy cell KPIs (sites × 3 cells, 9 KPIs), as the simulator makes them."""
    text = _E2E.format(sites=sites, ticks=steps, warmup=min(20, steps - 1))
    net = Network.from_scenario(parse_scenario(text, "bench"))
    frames = []
    for _ in range(steps):
        net.step()
        frames.append(net.latest[EntityKind.CELL].copy())
    return np.stack(frames)


def _detector(k: int) -> OnsetFilter:
    return default_filter(directions_of(EntityKind.CELL)[:k])


def _previous(k: int) -> AnomalyFilter:
    """The default set before the likelihood detector: a CUSUM of Holt residuals behind a z filter."""
    return AnomalyFilter(detector=LevelShift(directions=directions_of(EntityKind.CELL)[:k], warmup=10),
                         threshold=ZThreshold(6.0))


def detector_rates(sites: int = 1000, steps: int = 60, seconds: float = 1.0) -> dict[str, float]:
    """KPI values/s: default set batch and per row, bare EWMA, both HSTs (``seconds`` of each)."""
    X = _frames(sites, steps)
    k = X.shape[2]
    batch = _detector(k)
    previous = _previous(k)
    rows = [_detector(k) for _ in range(200)]

    def run_batch() -> int:
        for x in X:
            batch.step(x)
        return X.size

    def run_previous() -> int:
        for x in X:
            previous.step(x)
        return X.size

    def run_rows() -> int:
        for x in X[:5]:
            for i, det in enumerate(rows):
                det.step(x[i:i + 1])
        return 5 * len(rows) * k

    mean = np.zeros(X.shape[1:])

    def run_ewma() -> int:
        nonlocal mean
        for x in X:
            mean += 0.1 * (x - mean)
        return X.size

    hst = HalfSpaceTrees(directions=directions_of(EntityKind.CELL)[:k], warmup=10, window=20, height=5)

    def run_hst() -> int:
        for x in X:
            hst.score_many(x)
            hst.learn_many(x)
        return X.size

    return {"default_detectors_batch": _rate(run_batch, seconds),
            "previous_default_holt_cusum_batch": _rate(run_previous, seconds),
            "default_detectors_per_row": _rate(run_rows, seconds),
            "numpy_ewma": _rate(run_ewma, seconds),
            "hst_vectorized_batch": _rate(run_hst, seconds),
            "river_hst_per_sample": _river_rate(X, k, seconds)}


def _river_rate(X: np.ndarray, k: int, seconds: float) -> float:
    from river.anomaly import HalfSpaceTrees as RiverHalfSpaceTrees

    model = RiverHalfSpaceTrees(n_trees=10, height=5, window_size=20, seed=1)  # as the vectorized one
    lo, hi = float(X.min()), float(X.max())
    samples = [{str(j): (v - lo) / (hi - lo) for j, v in enumerate(row)} for row in X[0, :300]]

    def run() -> int:
        for s in samples:
            model.score_one(s)
            model.learn_one(s)
        return len(samples) * k

    return _rate(run, seconds)


_E2E = """
name: bench
seed: 1
ticks: {ticks}
tick_seconds: 60
warmup_ticks: {warmup}
topology: {{sites: {sites}, cells_per_site: 3, upf: 4, smf: 2, amf: 2}}
"""


def end_to_end_rate(sites: int = 1000, ticks: int = 60) -> tuple[float, int]:
    """Entity reports/s through the whole embedded loop; also the entity count."""
    scenario = parse_scenario(_E2E.format(sites=sites, ticks=ticks, warmup=min(20, ticks - 1)), "bench")
    loop = EmbeddedLoop(scenario, Settings())
    start = time.perf_counter()
    state = asyncio.run(loop.run())
    return state.entity_reports / (time.perf_counter() - start), state.entity_reports // ticks
