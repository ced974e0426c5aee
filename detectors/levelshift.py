"""Level-shift detection: a CUSUM of a Holt baseline's residuals, per series and direction.

A step of a few sigmas is absorbed by an adaptive baseline within a few
ticks, so its z-score never reaches the threshold. The residuals it leaves
while the baseline catches up still add up: the CUSUM
``S ← max(0, S + z − k)`` keeps the sum of what exceeds ``k`` sigmas, and
crosses the threshold where the z-score alone forgets the step.
"""

from __future__ import annotations

import numpy as np

from detectors.base import take_rows
from detectors.baseline import HoltBaseline


def _cusum(up: np.ndarray, down: np.ndarray, z: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Next upward and downward CUSUMs for residuals ``z`` (sigmas), slack ``k``."""
    nup = up + z
    nup -= k
    np.maximum(nup, 0.0, out=nup)
    ndown = down - z
    ndown -= k
    np.maximum(ndown, 0.0, out=ndown)
    return nup, ndown


class LevelShift:
    """CUSUM over the residual z-scores of a Holt baseline, vectorized over N×K series.

    Parameters
    ----------
    directions
        Length-K array: +1 where higher values are bad (the upward CUSUM
        scores), -1 where lower values are bad (the downward one), 0 where
        both are (the larger of the two).
    k
        Slack in sigmas: residuals below it drain the sum, so noise does not
        accumulate; a shift of ``k + ε`` sigmas adds ``ε`` per step.
    alpha, beta, gamma, warmup, dtype
        Of the Holt baseline whose residuals are summed (see :class:`HoltBaseline`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> d = LevelShift(directions=np.array([1.0]), warmup=20)
    >>> for v in 100.0 + rng.normal(size=60):
    ...     d.learn_many(np.array([[v]]))
    >>> scores = []
    >>> for v in 103.0 + rng.normal(size=6):  # a 3-sigma step: no z-score of 6, a growing sum
    ...     x = np.array([[v]])
    ...     scores.append(float(d.score_many(x)[0, 0]))
    ...     d.learn_many(x)
    >>> scores[-1] > 6.0 > scores[0]
    True
    """

    def __init__(self, *, directions: np.ndarray, k: float = 1.0, alpha: float = 0.1, beta: float = 0.05,
                 gamma: float = 0.01, warmup: int = 60, dtype: type = np.float32) -> None:
        self.directions = np.asarray(directions, dtype=float)
        self.dtype = dtype
        self.k = k
        self.alpha, self.beta, self.gamma = alpha, beta, gamma
        self.warmup = warmup

    def learn_many(self, X: np.ndarray, mask: np.ndarray | None = None) -> None:
        X = np.asarray(X, dtype=self.dtype)
        if not hasattr(self, "_base"):
            self._base = HoltBaseline(directions=self.directions, alpha=self.alpha, beta=self.beta,
                                      gamma=self.gamma, warmup=self.warmup, dtype=self.dtype)
            self._up = np.zeros_like(X)
            self._down = np.zeros_like(X)
            d = np.broadcast_to(self.directions, X.shape)
            self._a, self._b = (d >= 0).astype(self.dtype), (d <= 0).astype(self.dtype)
        elif mask is None or mask.all():
            self._up, self._down = self._sums(X)
        else:
            m = np.asarray(mask, dtype=self.dtype)
            keep = 1.0 - m
            up, down = self._sums(X)
            self._up = self._up * keep + up * m  # exactly one of the two terms, the other adds 0
            self._down = self._down * keep + down * m
        self._base.learn_many(X, mask)

    def select_rows(self, index: np.ndarray) -> None:
        """Keep the state of rows ``index`` in that order; a row at ``-1`` starts afresh (sums at 0)."""
        if not hasattr(self, "_base"):
            return
        self._up, self._down = take_rows(self._up, index), take_rows(self._down, index)
        d = np.broadcast_to(self.directions, self._up.shape)
        self._a, self._b = (d >= 0).astype(self.dtype), (d <= 0).astype(self.dtype)
        self._base.select_rows(index)

    def score_many(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=self.dtype)
        if not hasattr(self, "_base"):
            return np.zeros(X.shape, dtype=self.dtype)
        up, down = self._sums(X)
        up *= self._a
        down *= self._b
        return np.maximum(up, down, out=up)

    def expected(self) -> np.ndarray:
        """The baseline's forecast for the next step (N×K)."""
        return self._base.expected()

    def _sums(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _cusum(self._up, self._down, self._base.residual_z(X), self.k)
