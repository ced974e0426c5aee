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

The state is stored by field (``F×N×K``). The arithmetic is compiled, branch-free,
in :mod:`detectors.sweep`, shared with the default set's one-pass step.
"""

from __future__ import annotations

import numpy as np

from detectors.rows import select_rows
from detectors.sweep import AGE, AVG_VALUE, DN2, HI0, LO0, RECORD_FIELDS, UP0, planes, records_step


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
        residual = np.ascontiguousarray(residual, dtype=np.float32)
        records_step(planes(self._s), X.ravel(), residual.ravel(), up, down,
                     out.reshape(-1), self.medium, self.short, self.margin, float(self.settle),
                     mask.ravel() if learn else np.zeros(0, bool), learn)

    def start(self, X: np.ndarray) -> None:
        """Fresh records for N×K series that have learned their first value ``X`` (residual 0)."""
        self._s = np.zeros((RECORD_FIELDS, *X.shape), dtype=np.float32)
        for c, v in ((0, X), (1, X), (2, 0.0)):
            self._s[HI0 + c] = v
            self._s[LO0 + c] = v
        self._s[UP0:DN2 + 1] = -1.0
        self._s[AVG_VALUE] = X
        self._s[AGE] = 1.0

    def select_rows(self, index: np.ndarray) -> None:
        """Keep rows ``index`` in that order; new rows (``-1``) settle again (see :mod:`detectors.rows`)."""
        if hasattr(self, "_s"):
            select_rows(self, index, self._s.shape[-2])
