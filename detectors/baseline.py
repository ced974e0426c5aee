"""Adaptive baseline: level + trend (Holt) with an EWMA residual variance, per series.

The trend term follows slow changes such as the daily traffic ramp without the
lag of a plain EWMA; scores are residuals in baseline standard deviations,
oriented so that only the bad direction of a KPI scores above zero.
"""

from __future__ import annotations

import numpy as np


def _forecast(level: np.ndarray, trend: np.ndarray) -> np.ndarray:
    return level + trend


def _sigma(var: np.ndarray, weight: np.ndarray, level: np.ndarray, rel_floor: float,
           abs_floor: float) -> np.ndarray:
    """Residual standard deviation, bias-corrected for the EWMA's zero start, with floors."""
    unbiased = var / np.maximum(weight, 1e-12)
    return np.maximum(np.sqrt(unbiased), np.maximum(rel_floor * np.abs(level), abs_floor))


def _holt_update(level, trend, var, weight, n, x, mask, alpha, beta, gamma) -> None:
    """One masked Holt step in place; ``mask`` selects the series that learn.

    ``weight`` is the EWMA of ones, so ``var / weight`` is the variance without the
    bias of starting from zero (as Adam corrects its moments).
    """
    f = level + trend
    r = x - f
    new_level = f + alpha * r
    new_trend = trend + alpha * beta * r
    new_var = (1.0 - gamma) * var + gamma * r * r
    np.copyto(level, new_level, where=mask)
    np.copyto(trend, new_trend, where=mask)
    np.copyto(var, new_var, where=mask)
    np.copyto(weight, (1.0 - gamma) * weight + gamma, where=mask)
    n += mask


class HoltBaseline:
    """Online level/trend baseline with a residual z-score, vectorized over N×K series.

    Parameters
    ----------
    directions
        Length-K array: +1 where higher values are bad, -1 where lower values
        are bad, 0 where both are. Scores are the z-score in the bad direction,
        clipped at zero (higher = more anomalous).
    alpha, beta, gamma
        Smoothing of level, trend and residual variance. The variance averages
        over ~1/gamma steps: a short average of heavy-tailed residuals often
        dips low and inflates scores.
    warmup
        Updates a series needs before it scores anything but zero.

    Examples
    --------
    >>> import numpy as np
    >>> d = HoltBaseline(directions=np.array([1.0]), warmup=5)
    >>> for v in [10.0, 10.2, 9.8, 10.1, 9.9, 10.0]:
    ...     d.learn_many(np.array([[v]]))
    >>> bool(d.score_many(np.array([[20.0]]))[0, 0] > 10)
    True
    """

    def __init__(self, *, directions: np.ndarray, alpha: float = 0.1, beta: float = 0.05,
                 gamma: float = 0.01, warmup: int = 60, rel_floor: float = 0.005,
                 abs_floor: float = 1e-6) -> None:
        self.directions = np.asarray(directions, dtype=float)
        self.alpha, self.beta, self.gamma = alpha, beta, gamma
        self.warmup = warmup
        self.rel_floor, self.abs_floor = rel_floor, abs_floor

    def learn_many(self, X: np.ndarray, mask: np.ndarray | None = None) -> None:
        X = np.asarray(X, dtype=float)
        if not hasattr(self, "_level"):
            self._init_state(X)
            return
        learn = np.ones(X.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        _holt_update(self._level, self._trend, self._var, self._weight, self._n, X, learn,
                     self.alpha, self.beta, self.gamma)

    def score_many(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if not hasattr(self, "_level"):
            return np.zeros(X.shape)
        f = _forecast(self._level, self._trend)
        z = (X - f) / _sigma(self._var, self._weight, self._level, self.rel_floor, self.abs_floor)
        d = self.directions
        oriented = np.where(d == 0, np.abs(z), z * d)
        return np.where(self._n >= self.warmup, np.maximum(oriented, 0.0), 0.0)

    def expected(self) -> np.ndarray:
        """The baseline's forecast for the next step (N×K)."""
        return _forecast(self._level, self._trend)

    def _init_state(self, X: np.ndarray) -> None:
        self._level = X.copy()
        self._trend = np.zeros_like(X)
        self._var = np.zeros_like(X)
        self._weight = np.zeros_like(X)
        self._n = np.ones(X.shape, dtype=np.int64)
