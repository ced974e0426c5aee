"""Robust baseline: rolling median and MAD of each series' last learned values.

A median ignores the odd outlier that an EWMA would average in, and the MAD
(median absolute deviation) is not inflated by it, so one spike neither moves
the baseline nor hides the next spike.
"""

from __future__ import annotations

import numpy as np

_MAD_TO_SIGMA = 1.4826  # MAD × this estimates σ for Gaussian noise


def _ring_write(buf: np.ndarray, n: np.ndarray, x: np.ndarray, mask: np.ndarray) -> None:
    """Write ``x`` into each masked series' ring slot ``n % window`` in place; count it."""
    i, j = np.nonzero(mask)
    buf[i, j, n[i, j] % buf.shape[-1]] = x[i, j]
    n += mask


def _sorted_median(s: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Median of the first ``m`` entries of each row of ``s`` (sorted along the last axis, NaN last)."""
    w = s.shape[-1]
    if m.min() == w:  # every ring is full (the usual case): fixed positions, no fancy indexing
        return 0.5 * (s[..., (w - 1) // 2] + s[..., w // 2])
    lo = np.maximum((m - 1) // 2, 0)[..., None]
    hi = np.maximum(m // 2, 0)[..., None]
    return 0.5 * (np.take_along_axis(s, lo, -1) + np.take_along_axis(s, hi, -1))[..., 0]


def _median_mad(buf: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and MAD of the filled part of each ring (unfilled slots hold NaN)."""
    m = np.minimum(n, buf.shape[-1])
    med = _sorted_median(np.sort(buf, axis=-1), m)
    mad = _sorted_median(np.sort(np.abs(buf - med[..., None]), axis=-1), m)
    return med, mad


class RobustBaseline:
    """Online median/MAD baseline with a robust z-score, vectorized over N×K series.

    Parameters
    ----------
    directions
        Length-K array: +1 where higher values are bad, -1 where lower values
        are bad, 0 where both are. Scores are the robust z-score
        ``(x - median) / (1.4826 · MAD)`` in the bad direction, clipped at
        zero (higher = more anomalous).
    window
        Learned values each series remembers; memory is N×K×window floats.
        The median lags a trend by about half the window, hence a short one.
    warmup
        Updates a series needs before it scores anything but zero.
    rel_floor, abs_floor
        Lower bounds of σ, relative to the median and absolute, so that a flat
        series does not turn every small change into an infinite score.

    Examples
    --------
    >>> import numpy as np
    >>> d = RobustBaseline(directions=np.array([0.0]), window=8, warmup=5)
    >>> for v in [10.0, 10.2, 9.8, 10.1, 9.9, 50.0]:  # one outlier among them
    ...     d.learn_many(np.array([[v]]))
    >>> bool(d.score_many(np.array([[10.0]]))[0, 0] < 1), bool(d.score_many(np.array([[20.0]]))[0, 0] > 10)
    (True, True)
    """

    def __init__(self, *, directions: np.ndarray, window: int = 60, warmup: int = 60,
                 rel_floor: float = 0.005, abs_floor: float = 1e-6) -> None:
        self.directions = np.asarray(directions, dtype=float)
        self.window = window
        self.warmup = warmup
        self.rel_floor, self.abs_floor = rel_floor, abs_floor

    def learn_many(self, X: np.ndarray, mask: np.ndarray | None = None) -> None:
        X = np.asarray(X, dtype=float)
        if not hasattr(self, "_buf"):
            self._buf = np.full((*X.shape, self.window), np.nan)
            self._n = np.zeros(X.shape, dtype=np.int64)
        learn = np.ones(X.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        _ring_write(self._buf, self._n, X, learn)

    def score_many(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if not hasattr(self, "_buf"):
            return np.zeros(X.shape)
        med, mad = _median_mad(self._buf, self._n)
        sigma = np.maximum(_MAD_TO_SIGMA * mad, np.maximum(self.rel_floor * np.abs(med), self.abs_floor))
        z = (X - med) / sigma
        d = self.directions
        oriented = np.where(d == 0, np.abs(z), z * d)
        return np.where(self._n >= self.warmup, np.maximum(oriented, 0.0), 0.0)

    def expected(self) -> np.ndarray:
        """The baseline's median (N×K); NaN for a series that has learned nothing."""
        return _median_mad(self._buf, self._n)[0]
