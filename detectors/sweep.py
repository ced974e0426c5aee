"""The default set's step as one compiled pass over a frame: score, alarm, state and learn.

The default set (:class:`~detectors.likelihood.AnomalyLikelihood` behind an
:class:`~detectors.onset.OnsetFilter`) does a few dozen operations per value.
As numpy operations over the frame each one is a pass over memory, and the
set ran at about 5 M values/s; here every value reads and writes its own
series' fields once (numba), in two loops:

1. the **exceedances** — present values whose surprise is above their tail's
   quantile, about one in twenty — are scored by their GPD tail and
   recency bound, and the tail learns their excess, one by one;
2. a **sweep** over every value does the rest without a branch (each value's
   new fields are computed, and stored only where it is present), which the
   compiler turns into SIMD code: the quantile, the records, the robust
   baseline, the alarm and the state.

The arithmetic is in pure scalar functions (here and in
:mod:`detectors.tail`, :mod:`detectors.records`), so every loop that uses
them computes the same numbers. State is passed as tuples of flat arrays, one
per field (``planes``), each unpacked once before its loop: arrays taken out
of a tuple inside a loop cost a reference count each time and stop the
vectorizer.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from detectors.records import channel, features
from detectors.tail import JIT, gpd_p, moments, quantile, recency_p, remember

# the robust baseline's fields
LEVEL, TREND, ABS, WEIGHT, PREV, QUANTUM, SCALE, INV, DIR_A, DIR_B = range(10)
BASELINE_FIELDS = 10
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

