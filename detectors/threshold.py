"""Deciding from scores: threshold objects, and a filter that keeps flagged points out of learning.

A threshold classifies scores (``classify``) and may learn from them
(``learn``, masked like a detector's ``learn_many``); the filter decides what
both learn from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.base import Detector, take_rows


@dataclass(frozen=True)
class ZThreshold:
    """Flags scores at or above ``threshold`` baseline sigmas; a fixed threshold learns nothing."""

    threshold: float = 6.0

    def classify(self, scores: np.ndarray) -> np.ndarray:
        return scores >= self.threshold

    def learn(self, scores: np.ndarray, mask: np.ndarray | None = None) -> None:
        return None

    def select_rows(self, index: np.ndarray) -> None:
        return None


def _quantile_update(q: np.ndarray, scale: np.ndarray, s: np.ndarray, mask: np.ndarray, tau: float,
                     rate: float) -> None:
    """One masked stochastic-approximation step of each series' ``tau``-quantile, in place.

    The step is proportional to a running mean of ``|s - q|``, so the estimate
    moves as fast on a series scored in the hundreds as on one scored near one.
    """
    m = mask.astype(float)
    step = rate * (scale + 1e-9) * (tau - (s <= q))
    q += m * step
    scale += m * rate * (np.abs(s - q) - scale)


class QuantileThreshold:
    """Flags scores above an adaptive per-series quantile of the scores seen, never below ``floor``.

    Parameters
    ----------
    quantile
        The quantile of each series' learned scores the threshold tracks.
    factor
        The threshold is ``max(floor, factor × quantile)``: a series whose
        healthy scores have heavy tails gets a higher threshold than a calm one.
    floor
        The lowest threshold, and the threshold before anything is learned.
    rate
        Step size of the quantile estimate, relative to the spread of the scores.

    Examples
    --------
    >>> import numpy as np
    >>> t = QuantileThreshold(quantile=0.9, factor=2.0, floor=1.0, rate=0.05)
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(2000):  # series 0 scores around 1, series 1 around 10
    ...     t.learn(np.abs(rng.normal(size=(1, 2))) * [[1.0, 10.0]])
    >>> t.classify(np.array([[8.0, 8.0]])).tolist()
    [[True, False]]
    """

    def __init__(self, *, quantile: float = 0.99, factor: float = 2.0, floor: float = 6.0,
                 rate: float = 0.01) -> None:
        self.quantile, self.factor, self.floor, self.rate = quantile, factor, floor, rate

    def classify(self, scores: np.ndarray) -> np.ndarray:
        return scores >= self.thresholds(np.shape(scores))

    def thresholds(self, shape: tuple[int, ...]) -> np.ndarray:
        """The current threshold of every series (the floor before any learning)."""
        if not hasattr(self, "_q"):
            return np.full(shape, self.floor)
        return np.maximum(self.floor, self.factor * self._q)

    def learn(self, scores: np.ndarray, mask: np.ndarray | None = None) -> None:
        s = np.asarray(scores, dtype=float)
        if not hasattr(self, "_q"):
            self._q = np.zeros_like(s)
            self._scale = np.ones_like(s)
        learn = np.ones(s.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        _quantile_update(self._q, self._scale, s, learn, self.quantile, self.rate)

    def select_rows(self, index: np.ndarray) -> None:
        """Keep the quantiles of rows ``index`` in that order; a row at ``-1`` starts at the floor."""
        if hasattr(self, "_q"):
            self._q, self._scale = take_rows(self._q, index), take_rows(self._scale, index, 1.0)


class AnomalyFilter:
    """Score, classify, then learn only from points that were not flagged.

    A fault therefore does not become the new normal while it lasts. A series
    flagged for more than ``relearn_after`` consecutive steps learns again, so a
    lasting change of level is eventually accepted. With ``learn_flagged`` the
    detector and the threshold learn from every point (river's ``AnomalyFilter``
    with ``protect_anomaly_detector=False``).
    """

    def __init__(self, *, detector: Detector, threshold: ZThreshold | QuantileThreshold,
                 relearn_after: int = 240, learn_flagged: bool = False) -> None:
        self.detector = detector
        self.threshold = threshold
        self.relearn_after = relearn_after
        self.learn_flagged = learn_flagged

    def step(self, X: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Score one time step, learn from it, return ``(scores, flags)``.

        Where ``mask`` (N×K, or N×1 per row) is false, the series is absent from
        this step: it is never flagged, learns nothing and keeps its streak.
        """
        scores = self.detector.score_many(X)
        flags = self.threshold.classify(scores)
        if mask is not None:
            flags &= mask
        streak = self._streak(flags, mask)
        learn = None if self.learn_flagged else ~flags | (streak > self.relearn_after)
        if mask is not None:
            learn = np.broadcast_to(mask, flags.shape) if learn is None else learn & mask
        self.detector.learn_many(X, mask=learn)
        self.threshold.learn(scores, mask=learn)
        return scores, flags

    def select_rows(self, index: np.ndarray) -> None:
        """Keep the state of rows ``index`` in that order; a row at ``-1`` starts afresh.

        Needs a detector and threshold with ``select_rows`` (the default set has them).
        """
        self.detector.select_rows(index)  # type: ignore[attr-defined]
        self.threshold.select_rows(index)
        if getattr(self, "_run", None) is not None:
            self._run = take_rows(self._run, index)

    def _streak(self, flags: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        prev = getattr(self, "_run", None)
        run = ((prev if prev is not None else 0) + 1) * flags  # no np.where: 5× the cost on a frame
        if mask is not None and prev is not None:
            run = np.where(mask, run, prev)
        self._run = run
        return run
