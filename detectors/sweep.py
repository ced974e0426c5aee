"""The default set's arithmetic, compiled: its fields, pure scalar functions, and one pass over a frame.

The default set (:class:`~detectors.likelihood.AnomalyLikelihood` behind an
:class:`~detectors.onset.OnsetFilter`) does a few dozen operations per value.
As numpy operations over the frame each one is a pass over memory, and the
set ran at about 5 M values/s; :func:`sweep` has every value read and write
its own series' fields once (numba), in two loops:

1. the **exceedances** — present values whose surprise is above their tail's
   quantile, about one in twenty — are scored by their GPD tail and
   recency bound, and the tail learns their excess, one by one;
2. a **sweep** over every value does the rest without a branch (each value's
   new fields are computed, and stored only where it is present): the
   quantile, the records, the robust baseline, the alarm and the state.

The arithmetic is in pure scalar functions (the point tail's, the records',
the baseline's, the alarm's), so :class:`~detectors.tail.TailModel` and
:class:`~detectors.records.RecordChannels` on their own compute the same
numbers as the fused pass. State is passed as tuples of flat arrays, one per
field (:func:`planes`), each unpacked once before its loop: arrays taken out
of a tuple inside a loop cost a reference count each time and stop the
compiler. Every compiled function lives in this one file on purpose: numba's
disk cache checks only the file of the function it caches, so a helper
inlined from another file could change and leave a stale kernel behind.
"""

from __future__ import annotations

import numpy as np
from numba import njit

JIT = {"cache": True, "error_model": "numpy"}
"""How every compiled function of the detectors is compiled: cached on disk, numpy's float errors."""

# the robust baseline's fields (with the KPI's orientation: a, b with max(z·a, z·b) the bad-way z)
LEVEL, TREND, ABS, WEIGHT, PREV, QUANTUM, SCALE, INV, DIR_A, DIR_B = range(10)
BASELINE_FIELDS = 10
# the point tail's fields
Q, W, M1, M2, SEEN, XOS, NIX, SLOPE = range(8)
TAIL_FIELDS = 8
# the records' fields: each feature's high and low, the age at its last upper and lower record, the
# medium average of the value and the short one of the residual, the series' age, whether it settled
HI0, HI1, HI2, LO0, LO1, LO2, UP0, UP1, UP2, DN0, DN1, DN2, AVG_VALUE, AVG_RESIDUAL, AGE, LIVE = range(16)
RECORD_FIELDS = 16
# the onset filter's fields
CALM_RUN, ONSETS, STATE, STATE_AGE, REF, REF_TREND, REF_INV = range(7)
ONSET_FIELDS = 7
# the parameter vector (float64), by index
ALPHA, BETA, CLIP, GAMMA, SCALE_CLIP, REL_FLOOR, ABS_FLOOR = range(7)
TAU, RATE, XI_MIN, XI_MAX, MIN_SEEN = range(7, 12)
MEDIUM, SHORT, MARGIN, SETTLE = range(12, 16)
LEVEL_P, CALM, QUIET, EXIT_SIGMAS, MAX_STATE, TREND_K = range(16, 22)
N_PARAMS = 22
CHANNELS = 2.0
"""The point tail and the records: the smaller p of two, the point's counted twice (Bonferroni)."""


# --- the point tail (detectors.tail)


@njit(inline="always", **JIT)
def gpd(w, m1, m2, xi_min, xi_max):
    """``(ξ/σ, −1/ξ)`` of the GPD whose weighted moments are ``m1/w``, ``m2/w`` (method of moments)."""
    w = max(w, 1e-12)
    mean = max(m1 / w, 1e-6)
    var = max(m2 / w - mean * mean, 1e-12)
    ratio = mean * mean / var
    xi = min(max(0.5 * (1.0 - ratio), xi_min), xi_max)
    sigma = 0.5 * mean * (1.0 + ratio)
    if abs(xi) < 1e-3:  # ξ → 0 is the exponential tail: the same formula with ξ small but not zero
        xi = 1e-3
    return xi / sigma, -1.0 / xi


@njit(inline="always", **JIT)
def gpd_p(u, q, xos, nix, tau):
    """``P(U ≥ u)`` of an exceedance ``u > q`` under the GPD ``(ξ/σ, −1/ξ)``."""
    x = max((u - q) * xos, -1.0 + 1e-7)  # past a bounded tail's end
    return (1.0 - tau) * np.exp(np.log1p(x) * nix)


@njit(inline="always", **JIT)
def moments(u, q, w, m1, m2, rate, xi_min, xi_max):
    """The excess moments and GPD after an exceedance ``u > q``: ``(w, m1, m2, ξ/σ, −1/ξ)``."""
    e = u - q
    m1 += rate * (e - m1)
    m2 += rate * (e * e - m2)
    w += rate * (1.0 - w)
    xos, nix = gpd(w, m1, m2, xi_min, xi_max)
    return w, m1, m2, xos, nix


@njit(inline="always", **JIT)
def quantile(u, q, tau, rate):
    """The quantile after surprise ``u``, and the slope of the probability below it: ``(q, slope)``."""
    # stochastic-approximation quantile; the step scales with the quantile so it moves
    # as fast on a series whose surprises are around 20 as on one around 1
    q = q + (tau - (1.0 if u <= q else 0.0)) * max(q, 0.1) * rate
    return q, tau / max(q, 1e-6)


@njit(inline="always", **JIT)
def recency_p(R, n, u, clock):
    """The recency bound of series ``n`` for surprise ``u``: ``1/τ`` since one as large, or 0."""
    recent = R.shape[0] // 2
    for k in range(recent):
        seen_u = R[k, n]
        if not seen_u <= np.inf:  # an empty slot: the older ones are empty too
            return 0.0
        if seen_u >= u:
            return 1.0 / max(clock - R[recent + k, n], 1.0)
    return 0.0


@njit(inline="always", **JIT)
def remember(R, n, u, clock):
    """Put ``(u, clock)`` first in series ``n``'s frontier; drop the entries it dominates (not larger)."""
    recent = R.shape[0] // 2
    if recent == 0:
        return
    drop = 0
    while drop < recent and R[drop, n] <= u:
        drop += 1
    if drop == 0:  # nothing dominated: everything one older, the oldest falls off
        for k in range(recent - 1, 0, -1):
            R[k, n] = R[k - 1, n]
            R[recent + k, n] = R[recent + k - 1, n]
    elif drop > 1:  # close the gap the dominated entries leave
        for k in range(1, recent):
            src = k + drop - 1
            R[k, n] = R[src, n] if src < recent else np.nan
            R[recent + k, n] = R[recent + src, n] if src < recent else 0.0
    R[0, n] = u
    R[recent, n] = clock


@njit(**JIT)
def tail_probabilities(T, R, U, out, tau, min_seen):
    """:class:`~detectors.tail.TailModel`'s probabilities of surprises ``U`` (flat), into ``out``."""
    q, seen, xos, nix, slope = T[Q], T[SEEN], T[XOS], T[NIX], T[SLOPE]
    for n in range(U.shape[0]):
        u = U[n]
        if seen[n] < min_seen:
            out[n] = 1.0
        elif u <= q[n]:
            out[n] = 1.0 - slope[n] * u
        else:
            out[n] = max(gpd_p(u, q[n], xos[n], nix[n], tau), recency_p(R, n, u, seen[n]))


@njit(**JIT)
def tail_learn(T, R, U, mask, tau, rate, xi_min, xi_max):
    """:class:`~detectors.tail.TailModel` learns surprises ``U`` (flat) where ``mask``."""
    q, w, m1, m2, seen, xos, nix, slope = T
    for n in range(U.shape[0]):
        if not mask[n]:
            continue
        u = U[n]
        if u > q[n]:
            w[n], m1[n], m2[n], xos[n], nix[n] = moments(u, q[n], w[n], m1[n], m2[n], rate, xi_min, xi_max)
            remember(R, n, u, seen[n])
        q[n], slope[n] = quantile(u, q[n], tau, rate)
        seen[n] += 1.0


# --- the records (detectors.records)


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
def records_step(T, X, R, up, down, out, medium, short, margin, settle, mask, learn):
    """:class:`~detectors.records.RecordChannels`' probabilities of ``X`` (flat, residuals ``R``),
    into ``out``; with ``learn``, the records learn them where ``mask``."""
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


# --- the baseline, the alarm and the state; one pass of the default set


@njit(inline="always", **JIT)
def earned(trend, inv, k):
    """The trend as far as it stands out of its own noise: ``trend · t²/(t² + k)``, ``t`` in scales.

    A steady ramp's trend is used in full; the trend a noisy series' baseline picks up by chance
    (its standard deviation is about ``√(αβ/2)`` scales) is mostly not, so the forecast does not
    extrapolate noise. ``k`` is the squared noise level times the squared number of its standard
    deviations a trend must reach to be half used.
    """
    t = trend * inv
    return trend * (t * t / (t * t + k)) if k > 0.0 else trend


@njit(**JIT)
def earned_many(trend, inv, k, out):
    """:func:`earned` of flat arrays, into ``out``."""
    for n in range(trend.shape[0]):
        out[n] = earned(trend[n], inv[n], k)


@njit(inline="always", **JIT)
def surprise(x, level, trend, inv, a, b):
    """``(r, u)``: the residual of ``x`` against the forecast, and its surprise in the bad direction."""
    r = x - level - trend
    z = r * inv
    return r, min(max(max(z * a, z * b), 0.0), 1e4)


@njit(inline="always", **JIT)
def robust(x, r, level, trend, ab, w, prev, quantum, scale, inv, alpha, beta, clip, gamma, scale_clip,
           rel_floor, abs_floor, used):
    """The robust baseline after ``x``: ``(level, trend, abs, weight, quantum, scale, 1/scale)``.

    Level and trend move by the residual clipped at ``clip`` scales (the level by the ``used``,
    earned, trend: :func:`earned`); the scale is the bias-corrected
    EWMA of absolute residuals (each clipped at ``scale_clip`` scales), never below the floors: the
    relative and absolute ones and half the quantum (the smallest non-zero change seen).
    """
    c = min(max(r * inv, -clip), clip) * scale
    level = level + used + alpha * c
    trend = trend + alpha * beta * c
    ab = ab + gamma * (min(abs(r), scale_clip * scale) - ab)
    w = w + gamma * (1.0 - w)
    d = abs(x - prev)
    quantum = d if (d > 0.0) & (d < quantum) else quantum
    floor = max(rel_floor * abs(level), abs_floor)
    floor = max(floor, 0.5 * quantum) if quantum < np.inf else floor
    scale = max(ab / max(w, 1e-12), floor)
    return level, trend, ab, w, quantum, scale, 1.0 / scale


@njit(inline="always", **JIT)
def judge(x, p, calm_run, was, age, ref, ref_trend, ref_inv, expect, trend, inv, a, b, level, calm, quiet,
          exit_sigmas, max_state):
    """Alarm and state after a value of probability ``p``.

    Returns ``(onset, in_alarm, state, calm_run, age, ref, ref_trend, ref_inv)``: an onset is a rare
    value outside an alarm; the alarm lasts until ``quiet`` calm values in a row; a state starts at
    any rare value outside one (remembering where the series was headed: ``expect`` and ``trend``)
    and lasts while the value stays ``exit_sigmas`` away from there, at most ``max_state`` steps.
    """
    in_alarm = calm_run < quiet
    rare = p < level
    onset = rare & (not in_alarm)
    calm_run = 0.0 if onset else ((calm_run + 1.0 if p >= calm else 0.0) if in_alarm else calm_run)
    new = rare & (not was)
    ref = expect if new else ref
    ref_trend = trend if new else ref_trend
    ref_inv = inv if new else ref_inv
    age = 0.0 if new else age
    z = (x - (ref + ref_trend * age)) * ref_inv
    state = new | (was & (max(z * a, z * b) >= exit_sigmas) & (age < max_state))
    return onset, in_alarm, state, calm_run, age + 1.0 if state else 0.0, ref, ref_trend, ref_inv


@njit(**JIT)
def sweep(base, tail, frontier, records, onset_state, X, present, P, learn,
          probability, scores, flags, onsets, alarm_scores, exceed):
    """One step of the default set over the flat frame ``X`` (see the module); outputs in place.

    ``base``, ``tail``, ``records``, ``onset_state``: the planes of the baseline, the point tail,
    the records and the onset filter (scratch ones for the detector alone); ``frontier``: the tail's
    recency frontier (2-D); ``P``: the parameters. ``learn``: whether the state learns this step
    (False: score only).
    """
    level, trend, ab, w, prev, quantum, scale, inv, dir_a, dir_b = base
    calm_run, onsets_total, state, state_age, ref, ref_trend, ref_inv = onset_state
    q, tw, m1, m2, seen, xos, nix, slope = tail
    hi0, hi1, hi2, lo0, lo1, lo2, up0, up1, up2, dn0, dn1, dn2, med, sho, age, live = records
    tau, rate, min_seen = P[TAU], P[RATE], P[MIN_SEEN]
    k = P[TREND_K]
    for n in range(X.shape[0]):  # 1. exceedances, one by one
        r, u = surprise(X[n], level[n], earned(trend[n], inv[n], k), inv[n], dir_a[n], dir_b[n])
        exceed[n] = present[n] & (u > q[n])
        if not exceed[n]:
            continue
        probability[n] = max(gpd_p(u, q[n], xos[n], nix[n], tau), recency_p(frontier, n, u, seen[n]))
        if learn & (w[n] >= 0.5):
            tw[n], m1[n], m2[n], xos[n], nix[n] = moments(u, q[n], tw[n], m1[n], m2[n], rate, P[XI_MIN],
                                                          P[XI_MAX])
            remember(frontier, n, u, seen[n])
    medium, short, margin, settle = P[MEDIUM], P[SHORT], P[MARGIN], P[SETTLE]
    alpha, beta, clip, gamma, scale_clip = P[ALPHA], P[BETA], P[CLIP], P[GAMMA], P[SCALE_CLIP]
    rel_floor, abs_floor = P[REL_FLOOR], P[ABS_FLOOR]
    level_p, calm, quiet = P[LEVEL_P], P[CALM], P[QUIET]
    exit_sigmas, max_state = P[EXIT_SIGMAS], P[MAX_STATE]
    for n in range(X.shape[0]):  # 2. everything else, branch-free
        x, here = X[n], present[n]
        commit = learn & here
        a, b = dir_a[n], dir_b[n]
        used = earned(trend[n], inv[n], k)
        r, u = surprise(x, level[n], used, inv[n], a, b)
        up, down = a > 0.0, (a < 0.0) | (b < 0.0)
        f1, f2 = features(med[n], sho[n], x, r, medium, short)
        g, settled = age[n], live[n] != 0.0
        p0, h0, l0, u0, d0 = channel(hi0[n], lo0[n], up0[n], dn0[n], x, g, up, down, margin, settled)
        p1, h1, l1, u1, d1 = channel(hi1[n], lo1[n], up1[n], dn1[n], f1, g, up, down, margin, settled)
        p2, h2, l2, u2, d2 = channel(hi2[n], lo2[n], up2[n], dn2[n], f2, g, up, down, margin, settled)
        point = probability[n] if exceed[n] else 1.0 - slope[n] * u
        p = min(CHANNELS * point, p0, p1, p2, 1.0) if (seen[n] >= min_seen) & here else 1.0
        probability[n] = p
        # the alarm and the state (an absent series keeps them)
        was = state[n] != 0.0
        onset, in_alarm, now, run, s_age, ref2, trend2, inv2 = judge(
            x, p, calm_run[n], was, state_age[n], ref[n], ref_trend[n], ref_inv[n], level[n] + used, used,
            inv[n], a, b, level_p, calm, quiet, exit_sigmas, max_state)
        scores[n] = 1.0 - p
        onsets[n] = onset & here
        alarm_scores[n] = 0.0 if in_alarm else 1.0 - p
        flags[n] = now if here else was
        onsets_total[n] = onsets_total[n] + (1.0 if onset & commit else 0.0)
        old = calm_run[n], state[n], state_age[n], ref[n], ref_trend[n], ref_inv[n]
        new = run, 1.0 if now else 0.0, s_age, ref2, trend2, inv2
        calm_run[n], state[n], state_age[n], ref[n], ref_trend[n], ref_inv[n] = new if commit else old
        # learning: the quantile and clock, the records, the baseline (old values where not learning)
        tail_learns = commit & (w[n] >= 0.5)
        q2, s2 = quantile(u, q[n], tau, rate)
        q[n], slope[n] = (q2, s2) if tail_learns else (q[n], slope[n])
        seen[n] = seen[n] + 1.0 if tail_learns else seen[n]
        hi0[n], lo0[n], up0[n], dn0[n] = (h0, l0, u0, d0) if commit else (hi0[n], lo0[n], up0[n], dn0[n])
        hi1[n], lo1[n], up1[n], dn1[n] = (h1, l1, u1, d1) if commit else (hi1[n], lo1[n], up1[n], dn1[n])
        hi2[n], lo2[n], up2[n], dn2[n] = (h2, l2, u2, d2) if commit else (hi2[n], lo2[n], up2[n], dn2[n])
        med[n], sho[n], age[n] = (f1, f2, g + 1.0) if commit else (med[n], sho[n], g)
        live[n] = (1.0 if settled or g + 1.0 > settle else 0.0) if commit else live[n]
        new = robust(x, r, level[n], trend[n], ab[n], w[n], prev[n], quantum[n], scale[n], inv[n], alpha,
                     beta, clip, gamma, scale_clip, rel_floor, abs_floor, used)
        old = level[n], trend[n], ab[n], w[n], quantum[n], scale[n], inv[n]
        level[n], trend[n], ab[n], w[n], quantum[n], scale[n], inv[n] = new if commit else old
        prev[n] = x if commit else prev[n]


def planes(S: np.ndarray) -> tuple[np.ndarray, ...]:
    """The fields of an ``F×N×K`` state as F flat arrays (views): what the compiled loops take."""
    return tuple(S.reshape(S.shape[0], -1))
