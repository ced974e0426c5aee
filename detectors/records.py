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

from detectors.rows import select_rows


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
        hi, lo, age = self._hi.reshape(3, -1), self._lo.reshape(3, -1), self._age.ravel()
        last = self._last.reshape(2, 3, -1)
        gate = (self._sides & self._live).reshape(2, 1, -1)
        for side, extreme in ((0, hi), (1, lo)):
            over = F - extreme if side == 0 else extreme - F
            flat = np.flatnonzero((over > 0) & gate[side])
            if not len(flat):
                continue
            c, i = np.divmod(flat, X.size)
            span = np.abs(hi[c, i] - lo[c, i])
            tau = age[i] - last[side, c, i]
            with np.errstate(divide="ignore", invalid="ignore"):
                q = 1.0 / (tau * (1.0 + over[c, i] / (self.margin * span)))
            np.minimum.at(p.ravel(), i, np.nan_to_num(q, nan=0.0))
        return p

    def learn(self, X: np.ndarray, residual: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Take one step: features, ranges and the time of each channel's last record (where ``mask``)."""
        X = np.asarray(X)
        if not hasattr(self, "_hi"):
            self._init(X)
        F = self._features(X, residual)
        hi, lo = self._hi.reshape(3, -1), self._lo.reshape(3, -1)
        live, age, last = self._live.ravel(), self._age.ravel(), self._last.reshape(2, 3, -1)
        if mask is not None:  # a series that learns nothing keeps its features and its ranges
            absent = ~np.broadcast_to(np.asarray(mask, dtype=bool), X.shape).ravel()
            F = F.copy()
            F[0, absent] = hi[0, absent]
            F[1, absent], F[2, absent] = self._medium.ravel()[absent], self._short.ravel()[absent]
        for side, extreme in ((0, hi), (1, lo)):
            record = np.greater(F, extreme) if side == 0 else np.less(F, extreme)
            if self._settling:
                record |= ~live
            c, i = np.divmod(np.flatnonzero(record), X.size)
            last[side, c, i] = age[i] - 1.0
        np.maximum(hi, F, out=hi)
        np.minimum(lo, F, out=lo)
        if self._settling:  # the range counts from the last settling point on
            hi[:, ~live] = F[:, ~live]
            lo[:, ~live] = F[:, ~live]
        self._medium, self._short = F[1].reshape(X.shape).copy(), F[2].reshape(X.shape).copy()
        self._age += 1.0 if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), X.shape)
        self._cached_x = None  # the next step's features are the next step's
        if self._settling:
            self._live = self._age > self.settle
            self._settling = not self._live.all()

    def _features(self, X: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """3×(N·K): the value, its medium average and the short average of the deviation, this step in.

        The features of the values just scored are kept for the step that learns them.
        """
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
        self._medium = X.copy()
        self._short = np.zeros_like(X)
        self._hi = np.full((3, *X.shape), -np.inf, dtype=X.dtype)
        self._lo = np.full((3, *X.shape), np.inf, dtype=X.dtype)
        self._last = np.zeros((2, 3, *X.shape), dtype=X.dtype)
        self._age = np.zeros(X.shape, dtype=X.dtype)
        self._live = np.zeros(X.shape, dtype=bool)
        self._settling = True
        d = np.broadcast_to(self.directions, X.shape)
        self._sides = np.stack([d >= 0, d <= 0])[:, None]  # side × (broadcast over features) × N × K

    def select_rows(self, index: np.ndarray) -> None:
        """Keep rows ``index`` in that order; new rows (``-1``) settle again (see :mod:`detectors.rows`)."""
        if hasattr(self, "_hi"):
            select_rows(self, index, self._age.shape[0])
            self._settling = True
