"""Seasonal baseline: level + trend + a time-of-day profile (additive Holt-Winters), per series.

The day is cut into ``slots``; each slot keeps its own offset from the level,
learned from every visit to that slot. Once a day has been seen, the morning
ramp and the evening fall are expected, not forecast by a trend that
overshoots at the peak. Scores are residuals in baseline standard deviations,
in the bad direction of each KPI only.
"""

from __future__ import annotations

import numpy as np

from detectors.baseline import _sigma, oriented


def _hw_update(level, trend, season, var, weight, n, x, mask, alpha, beta, delta, gamma) -> None:
    """One masked additive Holt-Winters step in place; ``season`` is this step's slot (a view)."""
    m = mask.astype(float)
    f = level + trend
    r = x - f - season
    new_level = f + alpha * (x - season - f)
    level_step = new_level - level
    season += m * delta * (x - new_level - season)
    trend += m * beta * (level_step - trend)
    level += m * level_step
    var += m * gamma * (r * r - var)
    weight += m * gamma * (1.0 - weight)
    n += mask


class SeasonalBaseline:
    """Online level/trend/time-of-day baseline with a residual z-score, vectorized over N×K series.

    Each ``learn_many`` call is one time step; the detector counts them to know
    the time of day, starting at step ``phase`` of a ``period``-step day.

    Parameters
    ----------
    directions
        Length-K array: +1 where higher values are bad, -1 where lower values
        are bad, 0 where both are.
    period, slots, phase
        Steps per day (1440 at one-minute ticks), time-of-day slots the day is
        cut into, and the step of the day the stream starts at.
    alpha, beta, delta, gamma
        Smoothing of level, trend, the slot offsets and the residual variance.
    warmup
        Updates a series needs before it scores anything but zero.

    Examples
    --------
    >>> import numpy as np
    >>> d = SeasonalBaseline(directions=np.array([1.0]), period=4, slots=4, warmup=8)
    >>> for t in range(40):  # a "day" of four steps: 10, 20, 10, 0
    ...     d.learn_many(np.array([[10.0 + 10.0 * np.sin(np.pi * t / 2)]]))
    >>> bool(d.score_many(np.array([[11.0]]))[0, 0] < 1), bool(d.score_many(np.array([[30.0]]))[0, 0] > 6)
    (True, True)
    """

    def __init__(self, *, directions: np.ndarray, period: int = 1440, slots: int = 24, phase: int = 0,
                 alpha: float = 0.05, beta: float = 0.02, delta: float = 0.3, gamma: float = 0.01,
                 warmup: int = 60, rel_floor: float = 0.005, abs_floor: float = 1e-6) -> None:
        self.directions = np.asarray(directions, dtype=float)
        self.period, self.slots, self.phase = period, slots, phase
        self.alpha, self.beta, self.delta, self.gamma = alpha, beta, delta, gamma
        self.warmup = warmup
        self.rel_floor, self.abs_floor = rel_floor, abs_floor

    def learn_many(self, X: np.ndarray, mask: np.ndarray | None = None) -> None:
        X = np.asarray(X, dtype=float)
        if not hasattr(self, "_level"):
            self._init_state(X)
            return
        learn = np.ones(X.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        _hw_update(self._level, self._trend, self._season[..., self._slot()], self._var, self._weight,
                   self._n, X, learn, self.alpha, self.beta, self.delta, self.gamma)
        self._steps += 1

    def score_many(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if not hasattr(self, "_level"):
            return np.zeros(X.shape)
        z = (X - self.expected()) / _sigma(self._var, self._weight, self._level, self.rel_floor,
                                           self.abs_floor)
        return np.where(self._n >= self.warmup, oriented(z, self.directions), 0.0)

    def expected(self) -> np.ndarray:
        """The baseline's forecast for the next step (N×K)."""
        return self._level + self._trend + self._season[..., self._slot()]

    def _slot(self) -> int:
        return (self.phase + self._steps) % self.period * self.slots // self.period

    def _init_state(self, X: np.ndarray) -> None:
        self._level = X.copy()
        self._trend = np.zeros_like(X)
        self._season = np.zeros((*X.shape, self.slots))
        self._var = np.zeros_like(X)
        self._weight = np.zeros_like(X)
        self._n = np.ones(X.shape, dtype=np.int64)
        self._steps = 1
