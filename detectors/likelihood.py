"""The default detector: how unlikely is this value, given everything its series has shown so far?

Per series (vectorized over N×K):

1. **Baseline.** A robust level and trend that learn from every point: each
   step moves them by the residual clipped at ``clip`` scales, so a spike
   barely moves them and a lasting change is followed at a bounded pace. The
   scale is an EWMA of absolute residuals (clipped too, so an anomaly does
   not inflate the yardstick it is measured with), never below a **noise floor** made
   of the series' quantum (half the smallest non-zero change it has shown: a
   counter in steps of 1, a gauge rounded to 0.1), a relative floor and an
   absolute one — so flat and quantised series do not turn one step of their
   quantum into a huge surprise.
2. **Surprise.** ``u`` = residual / scale in the KPI's bad direction.
3. **Tail probabilities**, each from the series' own past:

   - the point surprise and its recent density (an EWMA of ``log(1 + u)``:
     a burst of moderate surprises), each through an online GPD tail
     (:class:`~detectors.tail.TailModel`), combined as the smaller times two
     (Bonferroni);
   - graded records (:class:`~detectors.records.RecordChannels`): the value,
     its medium-term average and its short-term deviation leaving their
     all-time ranges, graded by how long that took and how far they overshoot.

   ``p`` is the smallest; the score is ``1 − p`` in [0, 1].

A series scores once its point tail has a quantile to stand on (the data's
warm-up, :meth:`TailModel.fitted`). Scores are computed before the point is
learned, and series never mix: no look-ahead.
"""

from __future__ import annotations

import numpy as np

from detectors.baseline import orientation
from detectors.records import RecordChannels
from detectors.tail import TailModel

_TAIL_CHANNELS = 2.0


def _huber_step(level, trend, scale_sum, weight, r, inv_scale, scale, alpha, beta, clip, gamma,
                abs_clip=None) -> None:
    """One robust Holt step in place from the residual ``r`` against the forecast ``level + trend``.

    With ``c = clip(r, ±clip·scale)``: level ← level + trend + α·c, trend ← trend + α·β·c;
    then the EWMA of |r| (at most ``abs_clip``) and of the weight (its bias correction, as Adam
    corrects its moments). ``scale`` is ``1 / inv_scale``.
    ``gamma`` may be an array (0 where a series learns nothing this step).
    """
    z = r * inv_scale
    np.clip(z, -clip, clip, out=z)
    z *= scale
    level += trend
    level += alpha * z
    trend += (alpha * beta) * z
    a = np.abs(r)
    if abs_clip is not None:
        np.minimum(a, abs_clip, out=a)
    a -= scale_sum
    scale_sum += gamma * a
    weight += gamma * (1.0 - weight)


class AnomalyLikelihood:
    """Tail probability of each value under its own series' robust baseline, surprises and records.

    Parameters
    ----------
    directions
        Length-K array: +1 where higher values are bad, -1 where lower are
        bad, 0 where both are. Only the bad direction surprises.
    alpha, beta, clip
        Level and trend steps and the residual clip (in scales) of the robust baseline.
    gamma, scale_clip
        Step of the EWMA scale of absolute residuals, and where each residual is clipped (in
        scales) before the scale learns it: an anomaly does not inflate the yardstick it is
        measured with faster than ``gamma·scale_clip`` per step (None: no clip).
    rel_floor, abs_floor
        Scale floors relative to the level and absolute (besides the quantum).
    density
        Step of the density channel's EWMA of ``log(1 + u)``.
    tail, records
        Keyword arguments of the channels' :class:`TailModel` and of the
        :class:`RecordChannels`.
    dtype
        Float type of the state (float32 halves the memory traffic).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> d = AnomalyLikelihood(directions=np.array([0.0]))
    >>> for v in 10 + rng.normal(size=400):
    ...     d.learn_many(np.array([[v]]))
    >>> bool(d.tail_probability(np.array([[10.5]]))[0, 0] > 0.1)  # an ordinary value
    True
    >>> bool(d.tail_probability(np.array([[18.0]]))[0, 0] < 1e-5)  # eight sigmas out
    True
    """

    def __init__(self, *, directions: np.ndarray, alpha: float = 0.05, beta: float = 0.05, clip: float = 3.0,
                 gamma: float = 0.02, rel_floor: float = 1e-3, abs_floor: float = 1e-9,
                 density: float = 0.03, tail: dict | None = None, records: dict | None = None,
                 scale_clip: float | None = 6.0, dtype: type = np.float32) -> None:
        self.scale_clip = scale_clip
        self.directions = np.asarray(directions, dtype=float)
        self.alpha, self.beta, self.clip, self.gamma = alpha, beta, clip, gamma
        self.rel_floor, self.abs_floor = rel_floor, abs_floor
        self.density = density
        self.tail = dict(tail or {})
        self.records = dict(records or {})
        self.dtype = dtype

    def tail_probability(self, X: np.ndarray) -> np.ndarray:
        """``P(a healthy point is at least this unusual)`` per value (N×K); 1 while warming up."""
        X = np.asarray(X, dtype=self.dtype)
        if not hasattr(self, "_level"):
            return np.ones(X.shape, dtype=self.dtype)
        r = self._residual(X)
        u = self._surprise(r)
        p = self._point.probability(u)
        dens = self._dens + self.density * (np.log1p(u) - self._dens)
        np.minimum(p, self._burst.probability(dens), out=p)
        p *= _TAIL_CHANNELS
        np.minimum(p, self._records.probability(X, r), out=p)
        p *= self._warm
        p += 1.0 - self._warm
        return p

    def score_many(self, X: np.ndarray) -> np.ndarray:
        """``1 − tail probability`` in [0, 1] (float64, so scores near 1 stay apart)."""
        return 1.0 - self.tail_probability(X).astype(np.float64)

    def learn_many(self, X: np.ndarray, mask: np.ndarray | None = None) -> None:
        X = np.asarray(X, dtype=self.dtype)
        if not hasattr(self, "_level"):
            self._init_state(X)
            return
        m = None if mask is None or np.all(mask) else np.broadcast_to(np.asarray(mask, dtype=bool), X.shape)
        r = self._residual(X)
        u = self._surprise(r)
        step = self.density if m is None else self.density * m
        self._dens += step * (np.log1p(u) - self._dens)
        # surprises count once the scale measuring them averages enough residuals (half its weight)
        ready = self._weight >= 0.5
        if m is not None:
            ready &= m
        self._point.learn(u, ready)
        self._burst.learn(self._dens, ready)
        self._records.learn(X, r, m)
        gamma = self.gamma
        if m is not None:
            r *= m
            gamma = self.gamma * m.astype(self.dtype)
            held = ~m, self._level[~m], self._trend[~m]  # an absent series' forecast stands still
        _huber_step(self._level, self._trend, self._abs_sum, self._weight, r, self._inv_scale, self._scale,
                    self.alpha, self.beta, self.clip, gamma, self._abs_clip)
        if m is not None:
            self._level[held[0]], self._trend[held[0]] = held[1], held[2]
        self._track_quantum(X, m)
        self._refresh()

    def fresh(self) -> AnomalyLikelihood:
        """A new detector with the same parameters and nothing learned."""
        return AnomalyLikelihood(directions=self.directions, alpha=self.alpha, beta=self.beta, clip=self.clip,
                                 gamma=self.gamma, rel_floor=self.rel_floor, abs_floor=self.abs_floor,
                                 density=self.density, tail=self.tail, records=self.records,
                                 scale_clip=self.scale_clip, dtype=self.dtype)

    def expected(self) -> np.ndarray:
        """The value each series' baseline expects next (N×K)."""
        return self._level + self._trend

    def trend(self) -> np.ndarray:
        """The baseline's change per step (N×K)."""
        return self._trend.copy()

    def scale(self) -> np.ndarray:
        """The current residual scale of each series, floors included (N×K)."""
        return 1.0 / self._inv_scale

    def warm(self) -> np.ndarray:
        """Which series score already."""
        return self._warm.astype(bool)

    def _residual(self, X: np.ndarray) -> np.ndarray:
        r = X - self._level
        r -= self._trend
        return r

    def _surprise(self, r: np.ndarray) -> np.ndarray:
        z = r * self._inv_scale
        u = np.maximum(z * self._a, z * self._b)
        np.clip(u, 0.0, 1e4, out=u)
        return u

    def _track_quantum(self, X: np.ndarray, mask: np.ndarray | None) -> None:
        """The quantum: the smallest non-zero change seen so far (where a series learns)."""
        d = np.abs(X - self._prev)
        d[d == 0] = np.inf
        if mask is not None:
            d[~mask] = np.inf
            X = np.where(mask, X, self._prev)
        np.minimum(self._quantum, d, out=self._quantum)
        self._prev = X

    def _refresh(self) -> None:
        scale = self._abs_sum / np.maximum(self._weight, 1e-12)
        floor = np.maximum(self.rel_floor * np.abs(self._level), self.abs_floor)
        finite = np.isfinite(self._quantum)
        floor = np.maximum(floor, 0.5 * np.where(finite, self._quantum, 0.0))
        self._scale = np.maximum(scale, floor).astype(self.dtype)
        self._inv_scale = (1.0 / self._scale).astype(self.dtype)
        self._abs_clip = None if self.scale_clip is None else self.scale_clip * self._scale
        self._warm = self._point.fitted().astype(self.dtype)

    def _init_state(self, X: np.ndarray) -> None:
        self._level = X.copy()
        self._trend = np.zeros_like(X)
        self._abs_sum = np.zeros_like(X)
        self._weight = np.zeros_like(X)
        self._dens = np.zeros_like(X)
        self._prev = X.copy()
        self._quantum = np.full_like(X, np.inf)
        a, b = orientation(self.directions)
        self._a = np.broadcast_to(a.astype(self.dtype), X.shape).copy()
        self._b = np.broadcast_to(b.astype(self.dtype), X.shape).copy()
        self._point, self._burst = TailModel(**self.tail), TailModel(**self.tail)
        for t in (self._point, self._burst):
            t.learn(np.zeros_like(X), np.zeros(X.shape, dtype=bool))
        self._records = RecordChannels(directions=self.directions, **self.records)
        self._records.learn(X, np.zeros_like(X))
        self._inv_scale = np.zeros_like(X)
        self._refresh()
