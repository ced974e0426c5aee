"""Adaptive baseline: level + trend (Holt) with an EWMA residual variance, per series.

The trend term follows slow changes such as the daily traffic ramp without the
lag of a plain EWMA; scores are residuals in baseline standard deviations,
oriented so that only the bad direction of a KPI scores above zero.

The hot path avoids ``np.where`` and masked copies (ten times the cost of an
add on a frame): masks are applied as multiplications by 0/1, the forecast
and the inverse sigma are cached after each learn (zero for a series still
warming up, so its z-score is zero), and per-KPI constants are broadcast to
the frame's shape once.
"""

from __future__ import annotations

import numpy as np

from detectors.base import take_rows


def _sigma(var: np.ndarray, weight: np.ndarray, level: np.ndarray, rel_floor: float,
           abs_floor: float) -> np.ndarray:
    """Residual standard deviation, bias-corrected for the EWMA's zero start, with floors."""
    unbiased = var / np.maximum(weight, 1e-12)
    return np.maximum(np.sqrt(unbiased), np.maximum(rel_floor * np.abs(level), abs_floor))


def orientation(directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factors ``(a, b)`` with ``max(z·a, z·b)`` = z in the bad direction, clipped at 0.

    One bad direction ``d``: ``a = d, b = 0``; both: ``a = 1, b = -1`` (``|z|``).
    """
    d = np.asarray(directions, dtype=float)
    both = d == 0
    return np.where(both, 1.0, d), np.where(both, -1.0, 0.0)


def oriented(z: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """z in the bad direction, clipped at 0: ``z·d`` where one direction is bad, ``|z|`` where both are."""
    a, b = orientation(directions)
    return np.maximum(z * a, z * b)


def _holt_update(level, trend, var, weight, r, m, alpha, beta, gamma) -> None:
    """One Holt step in place from the residuals ``r``; ``m`` is 1 where a series learns, else 0.

    ``weight`` is the EWMA of ones, so ``var / weight`` is the variance without the
    bias of starting from zero (as Adam corrects its moments).
    """
    step = alpha * r
    step += trend
    if m is not None:
        step *= m
    level += step  # level ← forecast + α·r
    step = (alpha * beta) * r
    if m is not None:
        step *= m
    trend += step
    step = r * r
    step -= var
    step *= gamma if m is None else gamma * m
    var += step
    step = 1.0 - weight
    step *= gamma if m is None else gamma * m
    weight += step


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
    dtype
        Float type of the state and the scores: float32 halves the memory
        traffic of every step, and its 7 digits are plenty for z-scores.

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
                 abs_floor: float = 1e-6, dtype: type = np.float32) -> None:
        self.directions = np.asarray(directions, dtype=float)
        self.alpha, self.beta, self.gamma = alpha, beta, gamma
        self.warmup = warmup
        self.rel_floor, self.abs_floor = rel_floor, abs_floor
        self.dtype = dtype

    def learn_many(self, X: np.ndarray, mask: np.ndarray | None = None) -> None:
        X = np.asarray(X, dtype=self.dtype)
        if not hasattr(self, "_level"):
            self._init_state(X)
        else:
            m = None if mask is None or mask.all() else np.asarray(mask, dtype=self.dtype)
            fresh = (self._n == 0) & (True if mask is None else np.asarray(mask, dtype=bool)) \
                if self._fresh else None
            _holt_update(self._level, self._trend, self._var, self._weight, X - self._f, m,
                         self.alpha, self.beta, self.gamma)
            self._n += 1 if m is None else np.asarray(mask, dtype=bool)
            if fresh is not None:
                self._start(X, fresh)
        self._refresh()

    def select_rows(self, index: np.ndarray) -> None:
        """Keep the state of rows ``index`` in that order; a row at ``-1`` starts afresh.

        A fresh row scores zero until it has learned ``warmup`` values, the
        first of which becomes its level, as for a new detector.
        """
        if not hasattr(self, "_level"):
            return
        for name in ("_level", "_trend", "_var", "_weight", "_n"):
            setattr(self, name, take_rows(getattr(self, name), index))
        self._set_orientation(self._level.shape)
        self._fresh = bool((np.asarray(index) < 0).any()) or self._fresh
        self._refresh()

    def _start(self, X: np.ndarray, rows: np.ndarray) -> None:
        """Series in ``rows`` (N×K booleans) learned their first value: it is their level."""
        self._level[rows] = X[rows]
        for state in (self._trend, self._var, self._weight):
            state[rows] = 0.0
        self._fresh = bool((self._n == 0).any())

    def score_many(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=self.dtype)
        if not hasattr(self, "_level"):
            return np.zeros(X.shape, dtype=self.dtype)
        z = self.residual_z(X)
        return np.maximum(z * self._a, z * self._b)

    def residual_z(self, X: np.ndarray) -> np.ndarray:
        """Signed residual of ``X`` against the forecast in baseline sigmas (N×K); 0 while warming up."""
        r = np.asarray(X, dtype=self.dtype) - self._f
        r *= self._inv_sigma
        return r

    def warm(self) -> np.ndarray:
        """Which series have had their ``warmup`` updates (N×K booleans)."""
        return self._n >= self.warmup

    def expected(self) -> np.ndarray:
        """The baseline's forecast for the next step (N×K)."""
        return self._f.copy()

    def _refresh(self) -> None:
        """Cache the forecast and the inverse sigma (zero where a series is still warming up)."""
        self._f = self._level + self._trend
        sigma = _sigma(self._var, self._weight, self._level, self.rel_floor, self.abs_floor)
        self._inv_sigma = (self.warm() / sigma).astype(self.dtype, copy=False)

    def _init_state(self, X: np.ndarray) -> None:
        self._level = X.copy()
        self._trend = np.zeros_like(X)
        self._var = np.zeros_like(X)
        self._weight = np.zeros_like(X)
        self._n = np.ones(X.shape, dtype=np.int64)
        self._fresh = False  # some series have learned nothing yet (rows added by select_rows)
        self._set_orientation(X.shape)

    def _set_orientation(self, shape: tuple[int, ...]) -> None:
        a, b = orientation(self.directions)
        self._a = np.broadcast_to(a.astype(self.dtype), shape).copy()
        self._b = np.broadcast_to(b.astype(self.dtype), shape).copy()
