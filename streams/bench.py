"""``netloop bench``: throughput of the hot paths, each beside a baseline measured in the same run.

- detectors: KPI values per second through the default detector (Holt baseline +
  threshold filter) on pre-built frames, batch vs. one entity row at a time, beside a
  bare numpy EWMA update (the ceiling) and river's HalfSpaceTrees one sample at a time;
- end to end: entity reports per second through the embedded loop (simulate, encode,
  decode, detect, localize, decide, act over MCP, verify) on a large quiet scenario.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np

from detectors import AnomalyFilter, HoltBaseline, ZThreshold
from simulator import parse_scenario
from streams.embedded import EmbeddedLoop
from streams.settings import Settings


def _rate(work: Callable[[], int], min_seconds: float = 1.0) -> float:
    """Values per second of ``work`` (which returns how many values it processed)."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        done += work()
    return done / elapsed


def _frames(n: int, k: int, steps: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 + rng.standard_normal((steps, n, k))


def _detector(k: int) -> AnomalyFilter:
    return AnomalyFilter(detector=HoltBaseline(directions=np.ones(k), warmup=10),
                         threshold=ZThreshold(6.0))


def detector_rates(n: int = 3000, k: int = 9, steps: int = 50) -> dict[str, float]:
    """KPI values/s: batch detector, per-row detector, bare EWMA, river HST per sample."""
    X = _frames(n, k, steps)
    batch = _detector(k)
    rows = [_detector(k) for _ in range(200)]

    def run_batch() -> int:
        for x in X:
            batch.step(x)
        return X.size

    def run_rows() -> int:
        for x in X[:5]:
            for i, det in enumerate(rows):
                det.step(x[i:i + 1])
        return 5 * len(rows) * k

    mean = np.zeros((n, k))

    def run_ewma() -> int:
        nonlocal mean
        for x in X:
            mean += 0.1 * (x - mean)
        return X.size

    return {"detector_batch": _rate(run_batch), "detector_per_row": _rate(run_rows),
            "numpy_ewma": _rate(run_ewma), "river_hst_per_sample": _river_rate(X, k)}


def _river_rate(X: np.ndarray, k: int) -> float:
    from river.anomaly import HalfSpaceTrees

    model = HalfSpaceTrees(n_trees=10, height=6, window_size=50, seed=1)
    lo, hi = float(X.min()), float(X.max())
    samples = [{str(j): (v - lo) / (hi - lo) for j, v in enumerate(row)} for row in X[0, :300]]

    def run() -> int:
        for s in samples:
            model.score_one(s)
            model.learn_one(s)
        return len(samples) * k

    return _rate(run)


_E2E = """
name: bench
seed: 1
ticks: {ticks}
tick_seconds: 60
warmup_ticks: 20
topology: {{sites: {sites}, cells_per_site: 3, upf: 4, smf: 2, amf: 2}}
"""


def end_to_end_rate(sites: int = 1000, ticks: int = 60) -> tuple[float, int]:
    """Entity reports/s through the whole embedded loop; also the entity count."""
    scenario = parse_scenario(_E2E.format(sites=sites, ticks=ticks), "bench")
    loop = EmbeddedLoop(scenario, Settings())
    start = time.perf_counter()
    state = asyncio.run(loop.run())
    return state.entity_reports / (time.perf_counter() - start), state.entity_reports // ticks
