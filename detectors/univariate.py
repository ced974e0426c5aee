"""netloop's online detectors on univariate series, with scores squashed into [0, 1].

Several series run side by side as the columns of one N×1 step (the batch
protocol), so the per-step cost of numpy is paid once for all of them. Each
step scores a point before learning it, and series never mix, so a point's
score depends only on its own series up to that point: no look-ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from detectors.base import Detector
from detectors.baseline import HoltBaseline
from detectors.robust import RobustBaseline
from detectors.threshold import AnomalyFilter, ZThreshold

_BOTH = np.array([0.0])  # a univariate series has no known bad direction: both alarm

SERIES_DETECTORS: dict[str, Callable[[int], Detector]] = {
    "holt": lambda warmup: HoltBaseline(directions=_BOTH, warmup=warmup),
    "mad": lambda warmup: RobustBaseline(directions=_BOTH, warmup=warmup),
}
"""Detector name → factory of a fresh baseline, given its warm-up."""


def squash(z: np.ndarray, threshold: float) -> np.ndarray:
    """Map a z-score ≥ 0 monotonically onto [0, 1): ``z / (z + threshold)``, so the threshold maps to 0.5.

    >>> squash(np.array([0.0, 6.0, 18.0]), 6.0).tolist()
    [0.0, 0.5, 0.75]
    """
    return z / (z + threshold)


def score_series(series: Sequence[np.ndarray], detector: str, *, threshold: float = 6.0,
                 warmup: int = 60, relearn_after: int = 240) -> list[np.ndarray]:
    """Score every point of each series online with the named detector; scores in [0, 1].

    The detector sits behind an :class:`AnomalyFilter` with a ``threshold``
    z-score (the loop's defaults): a point scoring ≥ 0.5 is one the filter
    flagged and did not learn from.

    Examples
    --------
    >>> flat = np.full(100, 10.0) + np.tile([0.1, -0.1], 50)
    >>> spiky = flat.copy(); spiky[80] = 30.0
    >>> [float(s.max()) > 0.5 for s in score_series([flat, spiky], "holt", warmup=20)]
    [False, True]
    """
    if not series:
        return []
    step = _stepper(detector, len(series), threshold, warmup, relearn_after)
    lengths = np.array([len(s) for s in series])
    scores = np.empty((lengths.max(), len(series)))
    for t, x in enumerate(_side_by_side(series, lengths)):
        scores[t] = step(x)
    z = squash(scores, threshold)
    return [z[: n, i] for i, n in enumerate(lengths)]


def _stepper(detector: str, n: int, threshold: float, warmup: int,
             relearn_after: int) -> Callable[[np.ndarray], np.ndarray]:
    if detector not in SERIES_DETECTORS:
        raise ValueError(f"unknown detector {detector!r}; known: {', '.join(SERIES_DETECTORS)}")
    f = AnomalyFilter(detector=SERIES_DETECTORS[detector](warmup), threshold=ZThreshold(threshold),
                      relearn_after=relearn_after)

    def step(x: np.ndarray) -> np.ndarray:
        return f.step(x.reshape(n, 1))[0][:, 0]

    return step


def _side_by_side(series: Sequence[np.ndarray], lengths: np.ndarray) -> np.ndarray:
    """T×N matrix of the series; a series that has ended repeats its last value.

    What an ended series learns afterwards is never scored, so the padding is harmless.
    """
    out = np.empty((lengths.max(), len(series)))
    for i, s in enumerate(series):
        out[: len(s), i] = s
        out[len(s):, i] = s[-1] if len(s) else 0.0
    return out
