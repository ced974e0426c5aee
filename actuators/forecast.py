"""The twin's arithmetic: KPIs as sigmas off their baselines, and what an action does to them, sampled.

Pure functions over numpy arrays. A watched KPI is a *row*: its entity, its
column, its baseline, its spread (sigma) and its bad direction. ``badness``
is the deviation in the bad direction, in sigmas (both-direction KPIs such as
utilisation carry none: load is not harm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actuators.effects import ToolEffect

Z_CAP = 30.0  # one dark KPI must not outweigh every other sign
SLACK = 1.0  # sigmas of deviation that count as noise, not harm
LOAD_KPIS = frozenset({"prb_utilization_ratio", "throughput_mbps", "active_users", "request_rate_per_s",
                       "utilization_ratio", "cpu_utilization_ratio", "memory_utilization_ratio"})
"""KPIs that measure demand rather than service: less of it, with service intact, is people going home.
Gone dark (nearly zero) it is harm all the same, and so is a cell's throughput falling while its users
do not (each user gets less: the cell cannot carry its demand)."""
DARK = 0.05  # a load KPI below this share of its baseline: the entity carries nothing
PER_USER_DROP = 0.8  # throughput per user below this share of its baseline: users are served worse
DEGRADED = 5.0  # sigmas past the slack (6 off baseline, the detectors' threshold): a KPI that needs fixing


@dataclass(frozen=True)
class Rows:
    """Watched KPIs: parallel arrays, one entry per (entity, KPI)."""

    entity: np.ndarray  # str
    kpi: np.ndarray  # str
    base: np.ndarray
    sigma: np.ndarray
    sign: np.ndarray  # +1 up is bad, -1 down is bad, 0 both
    restored: np.ndarray  # bool: the tool restores this KPI
    role: np.ndarray  # "root", "cells" or "other"
    service: np.ndarray  # bool: its deviation now is harm to service (see :func:`service_harm`)

    def __len__(self) -> int:
        return len(self.base)

    def badness(self, values: np.ndarray) -> np.ndarray:
        """Sigmas off the baseline in the bad direction past the slack, capped; ``values`` aligned
        with the rows (… × n)."""
        z = self.sign * (values - self.base) / self.sigma - SLACK
        return np.clip(np.nan_to_num(z, nan=0.0), 0.0, Z_CAP)


def baseline(ticks: np.ndarray, values: np.ndarray, before: int) -> tuple[np.ndarray, np.ndarray]:
    """Per KPI: the median of the ticks before ``before`` (or of all but the last three), and a
    robust spread from the first differences of every tick held (a change of level moves one
    difference, not the spread; consecutive ticks only, so a lost frame is no difference)."""
    pre = ticks < before
    if pre.sum() < 6:
        pre = np.arange(len(ticks)) < max(len(ticks) - 3, 1)
    med = np.median(values[pre], axis=0)
    step = np.diff(ticks) == 1
    if step.sum() >= 4:
        d = np.diff(values, axis=0)[step]
        spread = 1.4826 * np.median(np.abs(d - np.median(d, axis=0)), axis=0) / np.sqrt(2.0)
    else:
        spread = 1.4826 * np.median(np.abs(values[pre] - med), axis=0)
    return med, np.maximum.reduce([spread, 0.002 * np.abs(med), np.full_like(med, 1e-6)])


def service_harm(names: list[str], base: np.ndarray, now: np.ndarray) -> np.ndarray:
    """Per KPI of one entity: would its deviation now be harm to service? Service KPIs always; a
    demand KPI when the entity has gone dark, or (throughput) when each user gets less. ``base``
    must come from one time for all KPIs (the telemetry's own), or the ratios mean nothing."""
    load = np.array([n in LOAD_KPIS for n in names])
    dark = load & (base > 0) & (now <= DARK * base)
    out = ~load | dark
    if "throughput_mbps" in names and "active_users" in names:
        t, u = names.index("throughput_mbps"), names.index("active_users")
        if base[t] > 0 and base[u] > 0 and now[u] > 0:
            out[t] |= (now[t] / base[t]) < PER_USER_DROP * (now[u] / base[u])
    return out


def current(values: np.ndarray) -> np.ndarray:
    """The KPIs now: the median of the last three ticks held, robust to a lost or reset frame."""
    return np.median(values[-3:], axis=0)


END_TICKS = 3  # the last ticks of the horizon, where a prediction is judged


@dataclass(frozen=True)
class Sampled:
    """The twin's samples of badness with the action, per sample and tick of the horizon."""

    now: float  # badness per tick at the decision (and without the action, by persistence)
    per_tick: np.ndarray  # samples × ticks

    @property
    def horizon(self) -> int:
        return self.per_tick.shape[1]

    @property
    def without(self) -> float:
        """Badness summed over the horizon if nothing is done (it persists)."""
        return self.now * self.horizon

    @property
    def improvement(self) -> np.ndarray:
        """Badness saved over the horizon, per sample (sigma-ticks)."""
        return self.without - self.per_tick.sum(axis=1)

    @property
    def end(self) -> np.ndarray:
        """Badness per tick at the end of the horizon, per sample."""
        return self.per_tick[:, -min(END_TICKS, self.horizon):].mean(axis=1)


def better(end: np.ndarray | float, now: float) -> np.ndarray | bool:
    """The KPIs are better at the end than now: a fifth of the badness gone, and at least a sigma."""
    return np.asarray(end) <= now - max(1.0, 0.2 * now)


def sample(rows: Rows, z_now: np.ndarray, effect: ToolEffect, *, p_right: float, adequacy: float,
           horizon: int, rng: np.random.Generator, samples: int = 256) -> Sampled:
    """Sample what the call does over ``horizon`` ticks after it lands.

    The diagnosis is right with ``p_right``; a right one is fixed with the
    effect's Beta success prior, ``adequacy`` of the way (the parameters' reach),
    after a sampled delay, recovering over sampled ticks. Costs land either way.
    """
    s, t = samples, np.arange(1, horizon + 1)
    z_restored = float(z_now[rows.restored].sum())
    z_other = float(z_now[~rows.restored].sum())
    right = rng.random(s) < p_right
    works = rng.random(s) < rng.beta(*effect.success, size=s)
    delay = rng.integers(effect.delay_ticks[0], effect.delay_ticks[1] + 1, size=s)
    recovery = np.maximum(rng.integers(effect.recovery_ticks[0], effect.recovery_ticks[1] + 1, size=s), 1)
    frac = np.clip((t[None, :] - delay[:, None]) / recovery[:, None], 0.0, 1.0) * adequacy
    helped = (right & works)[:, None] * frac
    per_tick = z_restored * (1.0 - helped) + z_other + _costs(rows, z_now, effect, t, rng, s)
    return Sampled(now=z_restored + z_other, per_tick=per_tick)


def _costs(rows: Rows, z_now: np.ndarray, effect: ToolEffect, t: np.ndarray, rng: np.random.Generator,
           s: int) -> np.ndarray:
    """Extra badness per sample and tick from the tool's costs (what is already bad cannot get worse)."""
    out = np.zeros((s, len(t)))
    for c in effect.costs:
        hit = (rows.role == c.where) & np.isin(rows.kpi, c.kpis)
        if not hit.any():
            continue
        size = rng.uniform(*c.sigmas, size=s)
        extra = np.maximum(0.0, size[:, None] - z_now[hit][None, :]).sum(axis=1)
        if c.ticks is None:
            lasting = np.ones((s, len(t)), dtype=bool)
        else:
            lasting = t[None, :] <= rng.integers(c.ticks[0], c.ticks[1] + 1, size=s)[:, None]
        out += extra[:, None] * lasting
    return out


def degraded(rows: Rows, z_now: np.ndarray) -> bool:
    """Service the tool restores is off its baseline — on its target itself, when the tool restores
    anything there: cells behind a clean link or NF point at trouble elsewhere; less demand with
    service intact is no harm."""
    off = rows.restored & (z_now >= DEGRADED) & rows.service
    on_root = rows.restored & (rows.role == "root")
    return bool(off[on_root].any()) if on_root.any() else bool(off.any())


def coverage(rows: Rows, z_now: np.ndarray) -> float:
    """The share of the harm on the target that the tool restores: a hypothesis that leaves much of
    what is wrong there unexplained is probably not the whole story."""
    on_root = (rows.role == "root") & rows.service
    total = float(z_now[on_root].sum())
    return float(z_now[on_root & rows.restored].sum()) / total if total > 0 else 1.0


def restores(effect: ToolEffect | None, role: str, kpi: str) -> bool:
    if effect is None or role == "other":
        return False
    which = effect.restores.root if role == "root" else effect.restores.cells
    return which == "all" or kpi in which


def empty_rows() -> Rows:
    z = np.zeros(0)
    return Rows(z.astype(str), z.astype(str), z, z, z, z.astype(bool), z.astype(str), z.astype(bool))
