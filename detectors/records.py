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
allows are watched. The first ``settle`` points only set the ranges.

The state is stored by field (``F×N×K``). The arithmetic is in pure,
branch-free scalar functions (numba) that the default set's one-pass step
(:mod:`detectors.sweep`) and this class's own loop share.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from detectors.rows import select_rows
from detectors.tail import JIT, planes

HI0, HI1, HI2, LO0, LO1, LO2, UP0, UP1, UP2, DN0, DN1, DN2, MEDIUM, SHORT, AGE, LIVE = range(16)
FIELDS = 16
"""Fields: each feature's high and low, the age at its last upper and lower record, the two averages,
the series' age, whether it has settled."""


@njit(inline="always", **JIT)
def features(medium_avg, short_avg, x, r, medium, short):
    """The medium average of the value and the short average of the residual, with this step in."""
    return medium_avg + medium * (x - medium_avg), short_avg + short * (r - short_avg)


@njit(inline="always", **JIT)
def channel(hi, lo, last_up, last_down, f, age, up, down, margin, live):
    """One feature's record probability and its range after ``f``: ``(p, hi, lo, last_up, last_down)``.

    Branch-free (both sides computed, one selected), so a sweep over many series vectorizes.
    """
    above, below = f > hi, f < lo
    span = abs(hi - lo)
    # span 0: a feature that never moved and leaves its only value is as rare as it gets (1/inf = 0)
    p_up = 1.0 / ((age - last_up) * (1.0 + (f - hi) / (margin * span)))
    p_down = 1.0 / ((age - last_down) * (1.0 + (lo - f) / (margin * span)))
    p = p_up if up & above else (p_down if down & below else 1.0)
    if not live:  # the range counts from the last settling point on
        return 1.0, f, f, age - 1.0, age - 1.0
    return (p, max(hi, f), min(lo, f), age - 1.0 if above else last_up,
            age - 1.0 if below else last_down)


@njit(**JIT)
def _step(T, X, R, up, down, out, medium, short, margin, settle, mask, learn):
    hi0, hi1, hi2, lo0, lo1, lo2, up0, up1, up2, dn0, dn1, dn2, med, sho, age, live = T
    k = up.shape[0]
    for n in range(X.shape[0]):
        x, r, u, d = X[n], R[n], up[n % k], down[n % k]
        f1, f2 = features(med[n], sho[n], x, r, medium, short)
        a, settled = age[n], live[n] != 0.0
        p0, h0, l0, u0, d0 = channel(hi0[n], lo0[n], up0[n], dn0[n], x, a, u, d, margin, settled)
        p1, h1, l1, u1, d1 = channel(hi1[n], lo1[n], up1[n], dn1[n], f1, a, u, d, margin, settled)
        p2, h2, l2, u2, d2 = channel(hi2[n], lo2[n], up2[n], dn2[n], f2, a, u, d, margin, settled)
        out[n] = min(p0, p1, p2)
        if learn and mask[n]:
            hi0[n], lo0[n], up0[n], dn0[n] = h0, l0, u0, d0
            hi1[n], lo1[n], up1[n], dn1[n] = h1, l1, u1, d1
            hi2[n], lo2[n], up2[n], dn2[n] = h2, l2, u2, d2
            med[n], sho[n], age[n] = f1, f2, a + 1.0
            live[n] = 1.0 if settled or a + 1.0 > settle else 0.0


def sides(directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per KPI: whether its upper side is watched (bad direction up or both), and its lower."""
    d = np.asarray(directions, dtype=float)
    return d >= 0, d <= 0


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
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.ones(X.shape, dtype=np.float32)
        if hasattr(self, "_s"):
            self._run(X, residual, out, None)
        return out

    def learn(self, X: np.ndarray, residual: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Take one step: features, ranges and the time of each channel's last record (where ``mask``)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if not hasattr(self, "_s"):
            self.start(X)
            return
        m = np.ones(X.shape, bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), X.shape)
        self._run(X, residual, np.empty(X.shape, dtype=np.float32), np.ascontiguousarray(m))

    def _run(self, X: np.ndarray, residual: np.ndarray, out: np.ndarray, mask: np.ndarray | None) -> None:
        up, down = sides(np.broadcast_to(self.directions, X.shape[1:]))
        learn = mask is not None
        _step(planes(self._s), X.ravel(), np.ascontiguousarray(residual, dtype=np.float32).ravel(), up, down,
              out.reshape(-1), self.medium, self.short, self.margin, float(self.settle),
              mask.ravel() if learn else np.zeros(0, bool), learn)

    def start(self, X: np.ndarray) -> None:
        """Fresh records for N×K series that have learned their first value ``X`` (residual 0)."""
        self._s = np.zeros((FIELDS, *X.shape), dtype=np.float32)
        for c, v in ((0, X), (1, X), (2, 0.0)):
            self._s[HI0 + c] = v
            self._s[LO0 + c] = v
        self._s[UP0:DN2 + 1] = -1.0
        self._s[MEDIUM] = X
        self._s[AGE] = 1.0

    def select_rows(self, index: np.ndarray) -> None:
        """Keep rows ``index`` in that order; new rows (``-1``) settle again (see :mod:`detectors.rows`)."""
        if hasattr(self, "_s"):
            select_rows(self, index, self._s.shape[-2])
