"""The default detector: how unlikely is this value, given everything its series has shown so far?

Per series (vectorized over N×K):

1. **Baseline.** A robust level and trend that learn from every point: each
   step moves them by the residual clipped at ``clip`` scales, so a spike
   barely moves them and a lasting change is followed at a bounded pace. The
   forecast uses the trend only as far as it stands out of its own noise. The
   scale is an EWMA of absolute residuals (clipped too, so an anomaly does
   not inflate the yardstick it is measured with), never below a **noise floor** made
   of the series' quantum (half the smallest non-zero change it has shown: a
   counter in steps of 1, a gauge rounded to 0.1), a relative floor and an
   absolute one — so flat and quantised series do not turn one step of their
   quantum into a huge surprise.
2. **Surprise.** ``u`` = residual / scale in the KPI's bad direction.
3. **Tail probabilities**, each from the series' own past:

   - the point surprise through an online GPD tail with a recency bound
     (:class:`~detectors.tail.TailModel`);
   - graded records (:class:`~detectors.records.RecordChannels`): the value,
     its medium-term average and its short-term deviation leaving their
     all-time ranges, graded by how long that took and how far they overshoot.

   ``p`` is the smaller (the point channel counted twice: Bonferroni over
   the two); the score is ``1 − p`` in [0, 1].

A series scores once its point tail has a quantile to stand on (the data's
warm-up). Scores are computed before the point is learned, and series never
mix: no look-ahead.

The state is stored by field (``F×N×K``); a step is one compiled pass over
the frame (:mod:`detectors.sweep`).
"""

from __future__ import annotations

import numpy as np

from detectors.baseline import orientation
from detectors.records import RecordChannels
from detectors.sweep import (
    ABS_FLOOR,
    ALPHA,
    BASELINE_FIELDS,
    BETA,
    CLIP,
    DIR_A,
    DIR_B,
    GAMMA,
    INV,
    LEVEL,
    MARGIN,
    MEDIUM,
    MIN_SEEN,
    N_PARAMS,
    ONSET_FIELDS,
    PREV,
    QUANTUM,
    RATE,
    REL_FLOOR,
    SCALE,
    SCALE_CLIP,
    SETTLE,
    SHORT,
    TAU,
    TREND,
    TREND_K,
    XI_MAX,
    XI_MIN,
    earned_many,
    planes,
    sweep,
)
from detectors.tail import TailModel


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
        measured with faster than ``gamma·scale_clip`` per step.
    rel_floor, abs_floor
        Scale floors relative to the level and absolute (besides the quantum).
    tail, records
        Keyword arguments of the point channel's :class:`~detectors.tail.TailModel` and of the
        :class:`~detectors.records.RecordChannels`.
    trend_sigmas
        How many standard deviations of its own noise the trend must reach to be half used in
        the forecast (the **earned trend**, :func:`~detectors.sweep.earned`): a steady ramp is
        followed, and a trend picked up from noise does not make the forecast overshoot.
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
                 tail: dict | None = None, records: dict | None = None, scale_clip: float = 6.0,
                 trend_sigmas: float = 2.0, dtype: type = np.float32) -> None:
        self.directions = np.asarray(directions, dtype=float)
        self.alpha, self.beta, self.clip, self.gamma = alpha, beta, clip, gamma
        self.scale_clip, self.rel_floor, self.abs_floor = scale_clip, rel_floor, abs_floor
        self.trend_sigmas = trend_sigmas
        self.tail = dict(tail or {})
        self.records = dict(records or {})
        self.dtype = dtype

    def tail_probability(self, X: np.ndarray) -> np.ndarray:
        """``P(a healthy point is at least this unusual)`` per value (N×K); 1 while warming up."""
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if not hasattr(self, "_s"):
            return np.ones(X.shape, dtype=self.dtype)
        return self._alone(X, np.ones(X.shape, bool), learn=False).astype(self.dtype)

    def score_many(self, X: np.ndarray) -> np.ndarray:
        """``1 − tail probability`` in [0, 1] (float64, so scores near 1 stay apart)."""
        return 1.0 - self.tail_probability(X).astype(np.float64)

    def learn_many(self, X: np.ndarray, mask: np.ndarray | None = None) -> None:
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if not hasattr(self, "_s"):
            self.start(X)
            return
        m = np.ones(X.shape, bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), X.shape)
        self._alone(X, np.ascontiguousarray(m), learn=True)

    def step(self, onset_state: np.ndarray, X: np.ndarray, present: np.ndarray, P: np.ndarray,
             learn: bool = True) -> tuple[np.ndarray, ...]:
        """One compiled pass (:func:`~detectors.sweep.sweep`) with an onset filter's state (its planes).

        Returns ``(probability, scores, flags, onsets, alarm_scores)``, each N×K.
        """
        shape = X.shape
        probability, scores, alarm_scores = np.empty(shape), np.empty(shape), np.empty(shape)
        flags, onsets = np.empty(shape, bool), np.empty(shape, bool)
        outputs = (probability, scores, flags, onsets, alarm_scores)
        sweep(*self.planes(), onset_state, X.ravel(), present.ravel(), P, learn,
              *(o.reshape(-1) for o in outputs), np.empty(X.size, dtype=bool))
        return probability, scores, flags, onsets, alarm_scores

    def _alone(self, X: np.ndarray, present: np.ndarray, learn: bool) -> np.ndarray:
        """The detector's probabilities without an onset filter (a scratch onset state)."""
        scratch = np.zeros((ONSET_FIELDS, *X.shape), dtype=self.dtype)
        return self.step(planes(scratch), X, present, self.params(), learn)[0]

    def fresh(self) -> AnomalyLikelihood:
        """A new detector with the same parameters and nothing learned."""
        return AnomalyLikelihood(directions=self.directions, alpha=self.alpha, beta=self.beta, clip=self.clip,
                                 gamma=self.gamma, rel_floor=self.rel_floor, abs_floor=self.abs_floor,
                                 tail=self.tail, records=self.records, scale_clip=self.scale_clip,
                                 trend_sigmas=self.trend_sigmas, dtype=self.dtype)

    def expected(self) -> np.ndarray:
        """The value each series' baseline expects next (N×K)."""
        return self._s[LEVEL] + self.trend()

    def trend(self) -> np.ndarray:
        """The baseline's change per step as the forecast uses it (the earned trend; N×K)."""
        out = np.empty(self._s[TREND].shape, dtype=self.dtype)
        earned_many(self._s[TREND].ravel(), self._s[INV].ravel(), self.params()[TREND_K], out.reshape(-1))
        return out

    def scale(self) -> np.ndarray:
        """The current residual scale of each series, floors included (N×K)."""
        return self._s[SCALE].copy()

    def warm(self) -> np.ndarray:
        """Which series score already."""
        return self._point.fitted()

    def planes(self) -> tuple:
        """What the compiled pass takes: the fields of the baseline, the tail and the records.

        Kept until the arrays behind them are replaced (entities joining or leaving).
        """
        arrays = (self._s, self._point._s, self._point._recent, self._records._s)
        cached = getattr(self, "_cached_planes", None)
        if cached is None or any(a is not b for a, b in zip(cached[0], arrays, strict=True)):
            views = planes(self._s), planes(self._point._s), self._point.frontier(), planes(self._records._s)
            self._cached_planes = cached = arrays, views
        return cached[1]

    def params(self) -> np.ndarray:
        """The float64 parameter vector of the compiled pass (indices: :mod:`detectors.sweep`)."""
        if not hasattr(self, "_params"):
            t, rc = self._point_model(), self._record_channels()
            P = np.zeros(N_PARAMS)
            # a trend estimated from noise alone has a variance of about αβ/2 squared scales
            trend_k = self.trend_sigmas ** 2 * self.alpha * self.beta / 2.0
            for i, v in ((ALPHA, self.alpha), (BETA, self.beta), (CLIP, self.clip), (GAMMA, self.gamma),
                         (SCALE_CLIP, self.scale_clip), (REL_FLOOR, self.rel_floor),
                         (ABS_FLOOR, self.abs_floor),
                         (TAU, t.tau), (RATE, t.rate), (XI_MIN, t.xi_min), (XI_MAX, t.xi_max),
                         (MIN_SEEN, t.min_seen), (MEDIUM, rc.medium), (SHORT, rc.short), (MARGIN, rc.margin),
                         (SETTLE, rc.settle), (TREND_K, trend_k)):
                P[i] = v
            self._params = P
        return self._params

    def start(self, X: np.ndarray) -> None:
        """Fresh series that have learned their first value ``X``."""
        S = np.zeros((BASELINE_FIELDS, *X.shape), dtype=self.dtype)
        S[LEVEL] = X
        S[PREV] = X
        S[QUANTUM] = np.inf
        S[SCALE] = np.maximum(self.rel_floor * np.abs(X), self.abs_floor)
        S[INV] = 1.0 / S[SCALE]
        a, b = orientation(np.broadcast_to(self.directions, X.shape[1:]))
        S[DIR_A], S[DIR_B] = a, b
        self._s = S
        self._point = self._point_model()
        self._point.start(X.shape)
        self._records = self._record_channels()
        self._records.start(X)

    def _point_model(self) -> TailModel:
        return TailModel(**self.tail)

    def _record_channels(self) -> RecordChannels:
        return RecordChannels(directions=self.directions, **self.records)
