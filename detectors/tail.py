"""How rare is a surprise? An online tail model of each series' own surprises (peaks over threshold).

Surprises ``u ≥ 0`` (residuals in baseline scales) have very different tails
on different series: a quiet gauge rarely passes 4, a bursty counter passes
20 every day. A fixed z threshold therefore means a different false-alarm
rate on every series. This model learns, per series, an online
``tau``-quantile ``q`` of the surprises and a generalised Pareto
distribution (GPD) of the excesses ``u − q`` over it (Pickands–Balkema–de
Haan; fitted by the method of moments on exponentially weighted moments, as
in streaming peaks-over-threshold), and turns a surprise into its tail
probability ``P(U ≥ u)``: the same probability means the same false-alarm
rate on every series.

Below the quantile the probability falls linearly from 1 at ``u = 0`` to
``1 − tau`` at ``u = q``; above it, ``(1 − tau)·(1 + ξ·(u − q)/σ)^(−1/ξ)``.
The shape ``ξ`` is clipped to ``[xi_min, xi_max]``: by default a light tail
is treated as exponential (so a surprise twice as far out is never
impossible), a heavy one as at most Pareto with index ``1/xi_max``. The
moments start from a prior worth ``prior_exceedances`` exceedances of a
heavy tail (shape ``prior_shape``, mean excess 1): a young series, whose tail
is still unknown, is judged cautiously and the data take over as
exceedances come.

**Recency.** A fitted tail extrapolates, and a series that repeats the same
large surprise (a batch job's spike every few hours) is not as rare as the
fit says. Each series therefore remembers its recent exceedances as a
frontier of ``recent`` entries (each newer one smaller than every older one
kept), and a surprise at least as large as one seen ``τ`` learned steps ago
gets a probability of at least ``1/τ``: it happened once in the last ``τ``
steps.

The state is stored by field (``F×N×K``: entity rows on the second-to-last
axis, :mod:`detectors.rows`). The arithmetic is compiled in
:mod:`detectors.sweep`, shared with the default set's one-pass step.
"""

from __future__ import annotations

import numpy as np

from detectors.sweep import (
    M1,
    M2,
    NIX,
    SEEN,
    SLOPE,
    TAIL_FIELDS,
    XOS,
    Q,
    W,
    gpd,
    planes,
    tail_learn,
    tail_probabilities,
)


class TailModel:
    """Online GPD tail of N×K series of surprises; :meth:`probability` is ``P(U ≥ u)`` per series.

    Parameters
    ----------
    tau
        Quantile above which the tail is modelled.
    rate
        Step of the quantile and of the excess moments; the moments average
        over about ``1/rate`` exceedances.
    xi_min, xi_max
        Bounds of the tail shape.
    prior_exceedances, prior_shape
        Weight of the heavy-tailed prior, in exceedances, and its shape.
    min_exceedances
        A series' tail counts as fitted (:meth:`fitted`) once it has learned as
        many points as its quantile needs to see this many exceedances
        (``min_exceedances / (1 − tau)``); until its own exceedances come, the
        prior speaks for the tail. A series that never varies is fitted too:
        any surprise on it is judged by the prior.
    recent
        Exceedances each series remembers for the recency bound (0: no bound).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = TailModel()
    >>> for _ in range(3000):  # series 0 has light surprises, series 1 heavy ones
    ...     t.learn(np.abs(rng.standard_t([30, 2], size=(1, 2))))
    >>> p = t.probability(np.array([[8.0, 8.0]]))
    >>> bool(p[0, 0] < 1e-4 < p[0, 1])
    True
    """

    def __init__(self, *, tau: float = 0.95, rate: float = 0.01, xi_min: float = 0.0, xi_max: float = 0.5,
                 prior_exceedances: float = 3.0, prior_shape: float = 0.25, min_exceedances: float = 2.0,
                 recent: int = 8) -> None:
        self.tau, self.rate, self.xi_min, self.xi_max = tau, rate, xi_min, xi_max
        self.prior_exceedances, self.prior_shape = prior_exceedances, prior_shape
        self.min_exceedances, self.recent = min_exceedances, recent

    @property
    def min_seen(self) -> float:
        """Points a series learns before its tail counts as fitted."""
        return self.min_exceedances / (1.0 - self.tau)

    def probability(self, u: np.ndarray) -> np.ndarray:
        """``P(U ≥ u)`` under each series' fitted tail (1 for a series not fitted yet)."""
        u = np.ascontiguousarray(u, dtype=np.float32)
        out = np.ones(u.shape, dtype=np.float32)
        if hasattr(self, "_s"):
            tail_probabilities(planes(self._s), self.frontier(), u.ravel(), out.reshape(-1), self.tau,
                               self.min_seen)
        return out

    def learn(self, u: np.ndarray, mask: np.ndarray | None = None) -> None:
        """One step of every series' quantile and excess moments (only where ``mask``, if given)."""
        u = np.ascontiguousarray(u, dtype=np.float32)
        if not hasattr(self, "_s"):
            self.start(u.shape)
        m = np.ones(u.shape, bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), u.shape)
        tail_learn(planes(self._s), self.frontier(), u.ravel(), np.ascontiguousarray(m).ravel(), self.tau,
                   self.rate, self.xi_min, self.xi_max)

    def fitted(self) -> np.ndarray:
        """Which series have seen ``min_exceedances`` exceedances (N×K booleans)."""
        if not hasattr(self, "_s"):
            return np.zeros((0, 0), dtype=bool)
        return self._s[SEEN] >= self.min_seen

    def frontier(self) -> np.ndarray:
        """The recency frontier as ``2·recent × N·K``: surprises, then the clock when each was seen."""
        return self._recent.reshape(self._recent.shape[0], self._s[0].size)

    def start(self, shape: tuple[int, ...]) -> None:
        """Fresh tails for N×K series: the prior, nothing learned."""
        w0 = 1.0 - (1.0 - self.rate) ** self.prior_exceedances
        m2 = w0 * (1.0 / (1.0 - 2.0 * self.prior_shape) + 1.0)
        xos, nix = gpd(w0, w0, m2, self.xi_min, self.xi_max)
        self._s = np.empty((TAIL_FIELDS, *shape), dtype=np.float32)
        for field, value in ((Q, 1.0), (W, w0), (M1, w0), (M2, m2), (SEEN, 0.0), (XOS, xos), (NIX, nix),
                             (SLOPE, self.tau)):
            self._s[field] = value
        self._recent = np.zeros((2 * self.recent, *shape), dtype=np.float32)
        self._recent[: self.recent] = np.nan
