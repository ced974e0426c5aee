"""One fault episode: what its type's repertoire became this time, and how it unfolds over ticks.

At its start an episode draws (from the world's generator, never the healthy
noise's): its severity (× ``1 ± jitter``), a variant of the repertoire, which
symptoms show and their sizes, which cells behind the root it reaches (each
with its own size and a lag of 0–3 ticks), its onset (a step, a ramp over
3–10 ticks, or on for 3–10 ticks and off for 1–2, again and again), and the
parameter value a fix needs. Its intensity at
a tick is ``onset × level``; a fix moves the level toward 0 over the recovery
ticks, a partial fix part of the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from schemas import EntityKind, kpi_names
from simulator.faults import FaultType
from simulator.realism import Realism
from simulator.symptoms import Symptom, apply

PLANNED_TILT_DEG = 4.0  # every cell's planned electrical tilt; a misconfigured antenna drifted from it
MAX_LAG = 3


@dataclass(frozen=True)
class _Drawn:
    """A symptom that shows in this episode, with its size at full intensity."""

    kind: EntityKind  # the matrix it moves
    where: str
    column: int
    op: str
    size: float
    factors: np.ndarray | None  # per reached cell / sibling (None on the root)


@dataclass
class _Level:
    """The share of the fault still there: piecewise linear from ``start`` to ``to``."""

    start: float = 1.0
    to: float = 1.0
    t0: int = 0
    t1: int = 0

    def at(self, t: int) -> float:
        if t < self.t0:
            return self.start
        if t >= self.t1:
            return self.to
        return self.start + (self.to - self.start) * (t - self.t0) / (self.t1 - self.t0)


@dataclass
class Episode:
    """A fault as it unfolds: drawn once at its start, then asked for its effect tick by tick."""

    type: FaultType
    start: int
    severity: float
    root_kind: EntityKind
    root: int
    cells: np.ndarray  # reached cells behind the root (cell rows)
    lags: np.ndarray  # per reached cell
    siblings: np.ndarray
    symptoms: list[_Drawn]
    onset: str
    ramp_ticks: int = 1
    need: float | None = None
    alarm_delay: int = 0
    rng: np.random.Generator | None = None  # the episode's own: what happens to it later draws from here
    _pattern: list[bool] = field(default_factory=list)
    _level: _Level = field(default_factory=_Level)

    @classmethod
    def draw(cls, ftype: FaultType, *, start: int, severity: float, root_kind: EntityKind, root: int,
             behind: np.ndarray, siblings: np.ndarray, realism: Realism, rng: np.random.Generator) -> Episode:
        """Draw an episode of ``ftype`` on ``root`` (``behind``: every cell it could reach)."""
        j = realism.signature_jitter
        s = float(np.clip(severity * (1.0 + j * rng.uniform(-1, 1)), 0.05, 1.25)) if j else severity
        variants = ftype.repertoire[root_kind]
        pick = 0 if realism.ideal else int(rng.choice(len(variants), p=_weights(variants)))
        need, excess = _need(ftype, s, realism, rng)
        reached, lags = _reach(behind, realism, rng)
        first, *rest = variants[pick].symptoms  # the first symptom always shows: the fault is seen
        drawn = [d for i, sym in enumerate((first, *rest))
                 if (d := _draw(sym, root_kind, s, excess, len(reached), len(siblings), realism, rng,
                                keep=i == 0))]
        onsets = [o for o in realism.onset if o in ftype.onsets] or ["step"]
        onset = str(rng.choice(onsets)) if len(onsets) > 1 else onsets[0]
        ep = cls(ftype, start, s, root_kind, root, reached, lags, siblings, drawn, onset, need=need,
                 alarm_delay=int(rng.integers(0, 4)) if not realism.ideal else 0,
                 ramp_ticks=int(rng.integers(3, 11)), rng=np.random.default_rng(rng.integers(2**63)))
        return ep

    # --- unfolding -----------------------------------------------------------------------------

    def intensity(self, t: int, lag: int = 0) -> float:
        """How much of the fault shows at tick ``t`` on an entity ``lag`` ticks behind the root."""
        rel = t - self.start - lag
        if rel < 0:
            return 0.0
        return self._onset(rel) * self._level.at(t - lag)

    def apply(self, values: dict[EntityKind, np.ndarray], t: int) -> None:
        """Move this tick's KPI matrices by the episode's symptoms, in place."""
        root_i = self.intensity(t)
        cell_i = self._cell_intensity(t)
        for d in self.symptoms:
            column = values[d.kind][:, d.column]
            if d.where == "root":
                if root_i > 0:
                    apply(column, self.root, d.op, d.size, root_i)  # type: ignore[arg-type]
                continue
            rows, inten = ((self.cells, cell_i) if d.where == "cells"
                           else (self.siblings, np.full(len(self.siblings), root_i)))
            live = inten > 0
            if not live.any():
                continue
            size = d.size if d.factors is None else (d.size * d.factors)[live]
            strength = 1.0 if bool(np.all(inten[live] >= 1.0)) else inten[live]
            apply(column, rows[live], d.op, size, strength)  # type: ignore[arg-type]

    def _cell_intensity(self, t: int) -> np.ndarray:
        if not len(self.lags):
            return np.zeros(0)
        by_lag = np.array([self.intensity(t, lag) for lag in range(MAX_LAG + 1)])
        return by_lag[self.lags]

    def fix(self, adequacy: float, *, now: int, delay: int, recovery: int) -> bool:
        """A remedy with ``adequacy`` in (0, 1] lands at ``now``: the level falls by that share of
        what is left, over ``recovery`` ticks after ``delay``. True when nothing will be left."""
        current = self._level.at(now)
        target = 0.0 if adequacy >= 0.999 else current * (1.0 - adequacy)
        t0 = now + delay
        self._level = _Level(start=current, to=target, t0=t0, t1=t0 + max(recovery, 0))
        return target == 0.0

    @property
    def fixed(self) -> bool:
        """A fix has been applied that leaves nothing of the fault."""
        return self._level.to == 0.0

    def over(self, t: int) -> bool:
        """After a full fix: every entity it reached is back."""
        return self.fixed and t >= self._level.t1 + self.max_lag

    @property
    def end_tick(self) -> int:
        return self._level.t1 + self.max_lag

    @property
    def max_lag(self) -> int:
        return int(self.lags.max()) if len(self.lags) else 0

    def _onset(self, rel: int) -> float:
        if self.onset == "ramp":
            return min(1.0, (rel + 1) / self.ramp_ticks)
        if self.onset == "intermittent":
            while len(self._pattern) <= rel:
                assert self.rng is not None
                self._pattern += [True] * int(self.rng.integers(3, 11))
                self._pattern += [False] * int(self.rng.integers(1, 3))
            return 1.0 if self._pattern[rel] else 0.0
        return 1.0


def _weights(variants: tuple) -> np.ndarray:
    w = np.array([v.weight for v in variants], dtype=float)
    return w / w.sum()


def _need(ftype: FaultType, s: float, realism: Realism,
          rng: np.random.Generator) -> tuple[float | None, float]:
    """The parameter value a fix needs, and the excess demand that shows (load symptoms)."""
    if ftype.need == "offload_ratio":
        need = float(np.clip(0.08 + 0.3 * s * rng.uniform(0.7, 1.3), 0.08, 0.4))
        return need, need / (1.0 - need)
    if ftype.need == "instances":
        n = int(np.clip(1 + np.floor(s * 2.4 * rng.uniform(0.8, 1.2)), 1, 4))
        return float(n), 0.35 * n
    if ftype.need == "tilt_deg":
        return PLANNED_TILT_DEG, 0.0
    return None, 0.0


def _reach(behind: np.ndarray, realism: Realism, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    p = realism.partial_propagation
    if not p or not len(behind):
        return behind, np.zeros(len(behind), dtype=int)
    keep = rng.random(len(behind)) >= p
    if not keep.any():
        keep[int(rng.integers(len(behind)))] = True
    return behind[keep], rng.integers(0, MAX_LAG + 1, size=int(keep.sum()))


def _draw(sym: Symptom, root_kind: EntityKind, s: float, excess: float, n_cells: int, n_siblings: int,
          realism: Realism, rng: np.random.Generator, *, keep: bool = False) -> _Drawn | None:
    """The symptom as it shows in this episode, or None when it does not show."""
    j = realism.signature_jitter
    if realism.ideal and not sym.classic:
        return None
    if not sym.classic and rng.random() >= sym.p:
        return None
    soft = sym.op in ("add", "scale")
    if sym.classic and soft and j and rng.random() < j / 3 and not keep:
        return None  # a soft symptom this episode does not show
    f = 1.0 + j * rng.uniform(-1, 1) if j else 1.0
    if sym.load:
        size = -excess
    elif sym.op == "floor":
        size = sym.size + sym.slope * s * f
    elif soft and sym.scaled:
        size = sym.size * s * f
    else:
        size = sym.size
    kind = root_kind if sym.where == "root" else EntityKind.CELL
    n = {"root": 0, "cells": n_cells, "siblings": n_siblings}[sym.where]
    factors = 1.0 + j * rng.uniform(-1, 1, size=n) if (j and n and soft) else None
    return _Drawn(kind, sym.where, kpi_names(kind).index(sym.kpi), sym.op, size, factors)
