"""netloop's online detectors on outside series, univariate (NAB's layout) and multivariate runs (SKAB's).

Several series run side by side as the rows of one N×K step (the batch
protocol), so the per-step cost of numpy is paid once for all of them. Each
step scores a point before learning it, and series never mix, so a point's
score depends only on its own series up to that point: no look-ahead. A
series that has ended repeats its last value; what it learns afterwards is
never read.

``netloop`` is the loop's default set (:func:`~detectors.default.default_filter`,
a univariate series has no known bad direction, so both are bad): its
score is the onset score, ``1 − p`` at the point an alarm starts and 0 inside
an alarm that is already raised. ``holt`` and ``mad`` are the older
z-score baselines behind an :class:`AnomalyFilter`, squashed into [0, 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from detectors.baseline import HoltBaseline
from detectors.default import DEFAULT_LEVEL, default_filter
from detectors.robust import RobustBaseline
from detectors.threshold import AnomalyFilter, ZThreshold

Stepper = Callable[[np.ndarray], np.ndarray]
_Z = 6.0  # the z threshold of the older baselines


def _netloop(n: int) -> Stepper:
    f = default_filter(np.zeros(1))

    def step(x: np.ndarray) -> np.ndarray:
        f.step(x.reshape(n, 1))
        return f.alarm_scores[:, 0]

    return step


def _z_baseline(make: Callable[..., object]) -> Callable[[int], Stepper]:
    def factory(n: int) -> Stepper:
        f = AnomalyFilter(detector=make(directions=np.zeros(1), warmup=60), threshold=ZThreshold(_Z))

        def step(x: np.ndarray) -> np.ndarray:
            return squash(f.step(x.reshape(n, 1))[0][:, 0], _Z)

        return step

    return factory


@dataclass(frozen=True)
class SeriesDetector:
    """A factory of steppers over ``n`` series side by side, and the score at which it flags a point."""

    stepper: Callable[[int], Stepper]
    flag_score: float


SERIES_DETECTORS: dict[str, SeriesDetector] = {
    "netloop": SeriesDetector(_netloop, 1.0 - DEFAULT_LEVEL),
    "holt": SeriesDetector(_z_baseline(HoltBaseline), 0.5),
    "mad": SeriesDetector(_z_baseline(RobustBaseline), 0.5),
}
"""Detector name → how to run it on series side by side, and its flag score."""


def squash(z: np.ndarray, threshold: float) -> np.ndarray:
    """Map a z-score ≥ 0 monotonically onto [0, 1): ``z / (z + threshold)``, so the threshold maps to 0.5.

    >>> squash(np.array([0.0, 6.0, 18.0]), 6.0).tolist()
    [0.0, 0.5, 0.75]
    """
    return z / (z + threshold)


def score_series(series: Sequence[np.ndarray], detector: str = "netloop") -> list[np.ndarray]:
    """Score every point of each series online with the named detector; scores in [0, 1].

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> calm = 10 + rng.normal(size=600)
    >>> spiky = calm.copy(); spiky[500] = 30.0
    >>> calm_scores, spiky_scores = score_series([calm, spiky])
    >>> bool(spiky_scores[500] > 0.99999 > calm_scores[:500].max() or spiky_scores[500] > calm_scores.max())
    True
    """
    if detector not in SERIES_DETECTORS:
        raise ValueError(f"unknown detector {detector!r}; known: {', '.join(SERIES_DETECTORS)}")
    if not series:
        return []
    lengths = np.array([len(s) for s in series])
    step = SERIES_DETECTORS[detector].stepper(len(series))
    X = _side_by_side([np.asarray(s, dtype=float)[:, None] for s in series], lengths)[:, :, 0]
    scores = np.stack([step(x) for x in X]) if len(X) else np.empty((0, len(series)))
    return [scores[: n, i] for i, n in enumerate(lengths)]


def flag_runs(runs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Flag every row of each multivariate run (T×K, one K for all) online: anomalous or not.

    Each run is one entity whose K columns are its KPIs (no known bad
    direction); a row is flagged when any of its KPIs is in an anomaly state
    of the default set.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> run = rng.normal(size=(800, 3)); run[600:, 1] += 12  # a lasting change of one sensor
    >>> flags = flag_runs([run])[0]
    >>> bool(flags[:550].mean() < 0.05), bool(flags[600:700].mean() > 0.9)
    (True, True)
    """
    if not runs:
        return []
    k = {r.shape[1] for r in runs}
    if len(k) != 1:
        raise ValueError(f"runs have different numbers of columns: {sorted(k)}")
    lengths = np.array([len(r) for r in runs])
    f = default_filter(np.zeros(k.pop()))
    X = _side_by_side([np.asarray(r, dtype=float) for r in runs], lengths)
    flags = np.stack([f.step(x)[1].any(axis=1) for x in X]) if len(X) else np.empty((0, len(runs)), bool)
    return [flags[: n, i] for i, n in enumerate(lengths)]


def _side_by_side(series: Sequence[np.ndarray], lengths: np.ndarray) -> np.ndarray:
    """T×N×K array of the series (each T_i×K); a series that has ended repeats its last row."""
    k = series[0].shape[1]
    out = np.zeros((int(lengths.max(initial=0)), len(series), k))
    for i, s in enumerate(series):
        out[: len(s), i] = s
        if len(s):
            out[len(s):, i] = s[-1]
    return out
