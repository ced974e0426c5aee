"""Graded records: how rare is it for a series to go where it has never been?

Three features of each series are watched on each of their sides: the value
itself, a medium-term average of it (``EWMA`` with step ``medium``, about 33
points), and a short-term average of its deviation from the baseline (step
``short``, about 3 points: a lone noisy point is not a record, an excursion
of two or three is). A feature that leaves its all-time range sets a
**record**, and a record is graded by two things the series itself tells:

- how long that side of that feature went without one (``τ`` steps): under
  exchangeable data the chance that the newest of ``τ`` points is the largest
  is ``1/τ``, so a record after a long calm is rare and a run of records is
  not (each one restarts the count: one excursion alarms once);
- how far it overshoots the old extreme, relative to the feature's span: an
  overshoot of ``margin`` times the span halves the probability, and it
  falls in proportion beyond (``1 + overshoot / (margin · span)``), so edging
  past the old maximum is common and leaping past it is not.

The probability of a record is ``1 / (τ · (1 + overshoot / (margin · span)))``;
a channel without a record says 1. Only the sides a KPI's bad direction
allows are watched. Records are rare, so they are graded only where there
are any.
"""

from __future__ import annotations

import numpy as np


class RecordChannels:
    """Record probabilities of N×K series over 3 features × 2 sides (see the module).

    Parameters
    ----------
    directions
        Length-K array: +1 watches the upper side, -1 the lower, 0 both.
    medium, short
        Steps of the medium-term average of the value and of the short-term
        average of its deviation from the baseline.
    margin
        Overshoot, as a share of the feature's span, that halves a record's probability.
    settle
        Points that only set the ranges before records count.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> rc = RecordChannels(directions=np.array([1.0]))
    >>> for v in rng.normal(size=(500, 1, 1)):
    ...     rc.learn(v, np.zeros((1, 1)))
    >>> bool(rc.probability(np.array([[9.0]]), np.array([[9.0]]))[0, 0] < 1e-4)
    True
    """

    def __init__(self, *, directions: np.ndarray, medium: float = 0.03, short: float = 0.3,
                 margin: float = 0.003, settle: int = 20) -> None:
        self.directions = np.asarray(directions, dtype=float)
        self.medium, self.short, self.margin, self.settle = medium, short, margin, settle

    def probability(self, X: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """The smallest record probability over the channels of each value (N×K); 1 without a record."""
        X = np.asarray(X)
        if not hasattr(self, "_hi"):
            return np.ones(X.shape, dtype=X.dtype)
        F = self._features(X, residual)
        p = np.ones(X.shape, dtype=X.dtype)
        for side, extreme in ((0, self._hi), (1, self._lo)):
            over = F - extreme if side == 0 else extreme - F
            flat = np.flatnonzero((over > 0) & self._gate[side])
            if not len(flat):
                continue
            c, i = np.divmod(flat, X.size)
            span = np.abs(self._hi[c, i] - self._lo[c, i])
            tau = self._age[i] - self._last[side, c, i]
            with np.errstate(divide="ignore", invalid="ignore"):
                q = 1.0 / (tau * (1.0 + over[c, i] / (self.margin * span)))
            np.minimum.at(p.ravel(), i, np.nan_to_num(q, nan=0.0))
        return p

    def learn(self, X: np.ndarray, residual: np.ndarray) -> None:
        """Take one step: features, ranges and the time of each channel's last record."""
        X = np.asarray(X)
        if not hasattr(self, "_hi"):
            self._init(X)
        F = self._features(X, residual)
        for side, extreme in ((0, self._hi), (1, self._lo)):
            record = (extreme < F) if side == 0 else (extreme > F)
            if self._settling:
                record |= ~self._live
            c, i = np.divmod(np.flatnonzero(record), X.size)
            self._last[side, c, i] = self._age[i] - 1.0
        np.maximum(self._hi, F, out=self._hi)
        np.minimum(self._lo, F, out=self._lo)
        if self._settling:  # the range counts from the last settling point on
            self._hi[:, ~self._live] = F[:, ~self._live]
            self._lo[:, ~self._live] = F[:, ~self._live]
        self._medium, self._short = F[1].reshape(X.shape), F[2].reshape(X.shape)
        self._age += 1.0
        self._cached_x = None  # the next step's features are the next step's
        if self._settling:
            self._live = self._age > self.settle
            self._settling = not self._live.all()
            self._gate = self._sides & self._live

    def _features(self, X: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """3×(N·K): the value, its medium average and the short average of the deviation, this step in."""
        if X is getattr(self, "_cached_x", None):
            return self._cached_f
        F = np.empty((3, X.size), dtype=X.dtype)
        F[0] = X.ravel()
        np.subtract(X.ravel(), self._medium.ravel(), out=F[1])
        F[1] *= self.medium
        F[1] += self._medium.ravel()
        np.subtract(np.asarray(residual, dtype=X.dtype).ravel(), self._short.ravel(), out=F[2])
        F[2] *= self.short
        F[2] += self._short.ravel()
        self._cached_x, self._cached_f = X, F
        return F

    def _init(self, X: np.ndarray) -> None:
        n = X.size
        self._medium = X.copy()
        self._short = np.zeros_like(X)
        self._hi = np.full((3, n), -np.inf, dtype=X.dtype)
        self._lo = np.full((3, n), np.inf, dtype=X.dtype)
        self._last = np.zeros((2, 3, n), dtype=X.dtype)
        self._age = np.zeros(n, dtype=X.dtype)
        self._live = np.zeros(n, dtype=bool)
        self._settling = True
        d = np.broadcast_to(self.directions, X.shape).ravel()
        self._sides = np.stack([d >= 0, d <= 0])[:, None, :]  # side × (broadcast over features) × series
        self._gate = self._sides & self._live
