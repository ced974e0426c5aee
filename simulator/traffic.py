"""Healthy KPI generation: per-entity baselines, a daily load pattern, noise.

All KPIs of one kind are produced as one (entities × KPIs) matrix per tick;
column order is :func:`schemas.kpi_names`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schemas import EntityKind

DAY_SECONDS = 86_400.0
NOISE_DF = 4.0  # Student-t noise: real KPI counters have heavier tails than a Gaussian
_T_UNIT = float(np.sqrt((NOISE_DF - 2.0) / NOISE_DF))  # scales t noise to unit variance
GLITCH_RATE = 2e-4  # share of values hit by a one-tick measurement glitch (×0.5..1.5)
START_HOUR = 6.0  # runs start at 06:00 so a demo sees the morning ramp


def daily_load(t_seconds: float) -> float:
    """Traffic load factor in [0.3, 1.0]: lowest at 03:00, highest at 15:00.

    >>> round(daily_load(0.0), 2)  # 06:00
    0.4
    >>> round(daily_load(9 * 3600.0), 2)  # 15:00
    1.0
    """
    hour = (t_seconds / 3600.0 + START_HOUR) % 24.0
    return float(0.65 - 0.35 * np.cos(2 * np.pi * (hour - 3.0) / 24.0))


@dataclass(frozen=True)
class KindModel:
    """Per-entity healthy parameters of one kind: value = base + gain·load, noise sd."""

    base: np.ndarray  # (N, K)
    gain: np.ndarray  # (N, K)
    noise: np.ndarray  # (N, K) standard deviation
    low: np.ndarray  # (K,) physical lower bound
    high: np.ndarray  # (K,) physical upper bound

    def sample(self, load: float, rng: np.random.Generator) -> np.ndarray:
        """One tick of healthy values: heavy-tailed noise, and rare one-tick glitches."""
        shape = self.base.shape
        noise = rng.standard_t(NOISE_DF, size=shape) * _T_UNIT
        x = self.base + self.gain * load + self.noise * noise
        glitch = rng.random(shape) < GLITCH_RATE
        x[glitch] *= rng.uniform(0.5, 1.5, size=int(glitch.sum()))
        return np.clip(x, self.low, self.high)


def _model(rng: np.random.Generator, n: int, spec: list[tuple[float, float, float, float, float, float]]
           ) -> KindModel:
    """Build a model from per-KPI (base, gain, spread, noise_rel, low, high) rows.

    ``spread`` scales base and gain per entity (uniform ±spread), ``noise_rel``
    is the noise sd relative to the entity's mean at full load.
    """
    a = np.array(spec, dtype=float)
    scale = 1.0 + a[:, 2] * rng.uniform(-1.0, 1.0, size=(n, len(spec)))
    base, gain = a[:, 0] * scale, a[:, 1] * scale
    noise = a[:, 3] * (np.abs(base) + np.abs(gain))
    return KindModel(base=base, gain=gain, noise=noise, low=a[:, 4], high=a[:, 5])


_INF = np.inf
# base, gain·load, spread, noise (relative), low, high — columns in schemas.kpis order
_CELL = [
    (0.05, 0.55, 0.25, 0.03, 0.0, 1.0),  # prb_utilization_ratio
    (20.0, 220.0, 0.30, 0.03, 0.0, _INF),  # throughput_mbps
    (10.0, 120.0, 0.30, 0.03, 0.0, _INF),  # active_users
    (10.0, 8.0, 0.10, 0.05, 0.0, _INF),  # latency_ms
    (0.002, 0.0, 0.20, 0.15, 0.0, 1.0),  # packet_loss_ratio
    (11.5, 0.0, 0.05, 0.025, 0.0, 15.0),  # cqi
    (0.05, 0.0, 0.10, 0.08, 0.0, 1.0),  # bler_ratio
    (0.985, 0.0, 0.005, 0.004, 0.0, 1.0),  # handover_success_ratio
    (0.005, 0.0, 0.20, 0.15, 0.0, 1.0),  # drop_rate_ratio
]
_NF = [
    (0.15, 0.35, 0.15, 0.03, 0.0, 1.0),  # cpu_utilization_ratio
    (0.45, 0.05, 0.10, 0.02, 0.0, 1.0),  # memory_utilization_ratio
    (200.0, 3000.0, 0.20, 0.03, 0.0, _INF),  # request_rate_per_s
    (0.002, 0.0, 0.20, 0.15, 0.0, 1.0),  # error_rate_ratio
    (4.0, 3.0, 0.10, 0.05, 0.0, _INF),  # latency_ms
]
_LINK = [
    (0.10, 0.45, 0.20, 0.03, 0.0, 1.0),  # utilization_ratio
    (2.0, 1.0, 0.10, 0.05, 0.0, _INF),  # latency_ms
    (0.0005, 0.0, 0.20, 0.15, 0.0, 1.0),  # packet_loss_ratio
]
_SPECS = {EntityKind.CELL: _CELL, EntityKind.LINK: _LINK, EntityKind.UPF: _NF,
          EntityKind.SMF: _NF, EntityKind.AMF: _NF}


def build_models(counts: dict[EntityKind, int], rng: np.random.Generator) -> dict[EntityKind, KindModel]:
    """Healthy models for every observable kind, drawn from ``rng``."""
    return {kind: _model(rng, counts[kind], spec) for kind, spec in _SPECS.items()}
