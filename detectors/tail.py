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

Exceedances are a few percent of the points, so the moments, and the tail
probabilities above the quantile, are computed only where there are any;
the GPD's parameters are re-derived from the moments every
``refresh_every`` steps (the moments move by ``rate`` per exceedance).
"""

from __future__ import annotations

import numpy as np


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
    refresh_every
        Steps between re-derivations of the GPD parameters from the moments.

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
                 refresh_every: int = 1) -> None:
        self.tau, self.rate, self.xi_min, self.xi_max = tau, rate, xi_min, xi_max
        self.prior_exceedances, self.prior_shape = prior_exceedances, prior_shape
        self.min_exceedances, self.refresh_every = min_exceedances, refresh_every

    def probability(self, u: np.ndarray) -> np.ndarray:
        """``P(U ≥ u)`` under each series' fitted tail (1 for a series not fitted yet)."""
        u = np.asarray(u)
        if not hasattr(self, "_q"):
            return np.ones(u.shape, dtype=np.float32)
        p = 1.0 - self._slope * np.minimum(u, self._q)
        idx = np.flatnonzero(u > self._q)
        if len(idx):
            e = u.ravel()[idx] - self._q.ravel()[idx]
            x = np.maximum(e * self._xi_over_sigma.ravel()[idx], -1.0 + 1e-7)  # past a bounded tail's end
            p.ravel()[idx] = (1.0 - self.tau) * np.exp(np.log1p(x) * self._neg_inv_xi.ravel()[idx])
        np.maximum(p, self._unfitted, out=p)
        return p

    def learn(self, u: np.ndarray, mask: np.ndarray | None = None) -> None:
        """One step of every series' quantile and excess moments (only where ``mask``, if given)."""
        u = np.asarray(u)
        if not hasattr(self, "_q"):
            self._init(u)
        above = u > self._q
        if mask is None:
            learn = 1.0
        else:
            learn = np.asarray(mask, dtype=u.dtype)
            above &= np.asarray(mask, dtype=bool)
        self._moments(u, np.flatnonzero(above))
        self._seen += learn
        # stochastic-approximation quantile; the step scales with the quantile so it moves
        # as fast on a series whose surprises are around 20 as on one around 1
        step = self.tau - (u <= self._q)
        step *= np.maximum(self._q, 0.1)
        step *= self.rate * learn
        self._q += step
        self._steps += 1
        if self._steps % self.refresh_every == 0:
            self._refresh()
        self._slope = self.tau / np.maximum(self._q, 1e-6)

    def fitted(self) -> np.ndarray:
        """Which series have seen ``min_exceedances`` exceedances (N×K booleans)."""
        if not hasattr(self, "_q"):
            return np.zeros((0, 0), dtype=bool)
        return self._seen * (1.0 - self.tau) >= self.min_exceedances

    def _moments(self, u: np.ndarray, idx: np.ndarray) -> None:
        """EWMA of the excess, its square and the exceedances' weight, where the series exceeded."""
        if not len(idx):
            return
        e = u.ravel()[idx] - self._q.ravel()[idx]
        r = self.rate
        for state, value in ((self._m1, e), (self._m2, e * e), (self._w, 1.0)):
            flat = state.ravel()
            flat[idx] += r * (value - flat[idx])
        self._count.ravel()[idx] += 1.0

    def _init(self, u: np.ndarray) -> None:
        dt = u.dtype if u.dtype.kind == "f" else np.float32
        self._q = np.ones(u.shape, dtype=dt)
        # the prior: mean excess 1 and the variance for which the method of moments gives prior_shape
        w0 = 1.0 - (1.0 - self.rate) ** self.prior_exceedances
        var = 1.0 / (1.0 - 2.0 * self.prior_shape)
        self._w = np.full(u.shape, w0, dtype=dt)
        self._m1 = np.full(u.shape, w0, dtype=dt)
        self._m2 = np.full(u.shape, w0 * (var + 1.0), dtype=dt)
        self._count = np.zeros(u.shape, dtype=dt)
        self._seen = np.zeros(u.shape, dtype=dt)
        self._steps = 0
        self._refresh()

    def _refresh(self) -> None:
        """Re-derive the GPD's ξ/σ and −1/ξ from the moments (method of moments), and who is fitted."""
        w = np.maximum(self._w, 1e-12)
        mean = np.maximum(self._m1 / w, 1e-6)
        var = np.maximum(self._m2 / w - mean * mean, 1e-12)
        ratio = mean * mean / var
        xi = np.clip(0.5 * (1.0 - ratio), self.xi_min, self.xi_max)
        sigma = 0.5 * mean * (1.0 + ratio)
        # ξ → 0 is the exponential tail exp(−e/σ): the same formula with ξ small but not zero
        xi = np.where(np.abs(xi) < 1e-3, 1e-3, xi)
        self._xi_over_sigma = (xi / sigma).astype(self._q.dtype)
        self._neg_inv_xi = (-1.0 / xi).astype(self._q.dtype)
        self._unfitted = (~self.fitted()).astype(self._q.dtype)
