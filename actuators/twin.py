"""The digital twin: a model of the network built only from what the network exposes.

It reads the published topology and calendar (:class:`~actuators.inventory.Inventory`),
the recent telemetry (:class:`~actuators.history.TelemetryHistory`), the
baselines the detectors learned (the ``expected`` of their anomaly events),
the incident's hypothesis, and a documented effect model per tool
(:mod:`actuators.effects`). It never sees a network's internals, so it runs
unchanged against a real one — and its predictions can be wrong.

:meth:`TelemetryTwin.predict` samples what a call would do to the watched
KPIs (the target, the cells behind it, the incident's symptoms) over a few
ticks, against doing nothing; the probability that it helps feeds the
decision to act, to ask a person, or to veto. :meth:`TelemetryTwin.on_tick`
checks each executed prediction against the telemetry that followed it.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from actuators.effects import ToolEffect, effect_model
from actuators.forecast import (
    END_TICKS,
    Rows,
    baseline,
    better,
    coverage,
    current,
    degraded,
    empty_rows,
    restores,
    sample,
    service_harm,
)
from actuators.history import TelemetryHistory
from actuators.inventory import Inventory
from actuators.twin_checks import TwinCheck
from schemas import KPIS_BY_KIND, AnomalyEvent, Direction, Incident, ToolArgument, ToolCall, TwinPrediction

_SIGN = {Direction.UP: 1.0, Direction.DOWN: -1.0, Direction.BOTH: 0.0}
_MAX_WATCHED = 5000  # entities
_MAX_CHECKS = 10_000
_TYPICAL_SUCCESS = 0.8  # how often a right diagnosis is fixed, for the posterior of later candidates
RELATIVE_FLOOR = 0.002  # a KPI's spread is at least this share of its baseline (a dark history has none)
_PRE_TICKS = 6  # ticks before an incident a baseline needs
_FOLLOW_TICKS = 4  # ticks the entities behind a fixed root take to follow it
_SNAPSHOT_TICKS = 60  # how long a baseline taken when an incident opened stays a reference


class Twin(Protocol):
    """Predicts what a tool call would do to an incident's KPIs, against doing nothing."""

    def predict(self, call: ToolCall, *, incident: Incident, horizon: int) -> TwinPrediction: ...


@dataclass
class _Pending:
    tool: str
    action_id: str
    start: int  # first tick the call could show in
    rows: Rows
    now: float
    end: np.ndarray  # predicted end badness per sample
    prediction: TwinPrediction


class TelemetryTwin:
    """The twin the loop asks before acting. Feed it the bus; ask it about a call.

    Parameters
    ----------
    inventory
        Topology, calendar and alarms as published (shared with the decide step).
    effects
        The effect model per tool (default: the built-in one).
    history_ticks
        Ticks of telemetry kept.
    """

    def __init__(self, inventory: Inventory | None = None, *, effects: Mapping[str, ToolEffect] | None = None,
                 history_ticks: int = 32, samples: int = 256) -> None:
        self.inventory = inventory or Inventory()
        self.effects = dict(effects if effects is not None else effect_model())
        self.history = TelemetryHistory(ticks=history_ticks)
        self.samples = samples
        self._expected: dict[tuple[str, str], tuple[int, float]] = {}
        self._pending: dict[str, _Pending] = {}
        self._tried: dict[tuple[str, str], float] = {}  # (target, tool) -> the last parameter value used
        self._snapshots: dict[str, tuple[int, np.ndarray]] = {}  # entity -> (before tick, baseline)
        self.checks: deque[TwinCheck] = deque(maxlen=_MAX_CHECKS)

    # --- feeding ---------------------------------------------------------------------------

    def observe_frame(self, raw: bytes) -> None:
        self.history.add(raw)

    def observe_anomaly(self, event: AnomalyEvent) -> None:
        """The detector's baseline for a KPI it flagged (kept while it is recent)."""
        self._expected[(event.entity_id, event.kpi)] = (event.tick, event.expected)

    # --- predicting ------------------------------------------------------------------------

    def predict(self, call: ToolCall, *, incident: Incident, horizon: int) -> TwinPrediction:
        """Sample what ``call`` does to the incident's watched KPIs over ``horizon`` ticks, or as many
        as the tool takes to show fully on the cells behind its target (its delay and recovery, and
        a few ticks for the cells to follow)."""
        effect = self.effects.get(call.tool)
        if effect is not None:
            horizon = max(horizon, effect.settles_within + _FOLLOW_TICKS)
        rows, values_now, basis = self._rows(call, incident, effect)
        z_now = rows.badness(values_now)
        if effect is None or not len(rows):
            why = ("no effect model for this tool" if effect is None
                   else "no telemetry of the watched entities")
            return TwinPrediction(horizon_ticks=horizon, watched=0, badness_without=0.0, badness_with=0.0,
                                  improvement=0.0, improves=False, p_improves=0.0, degraded=False,
                                  basis=why)
        params, reach, settled = self._parameters(call, effect, before=incident.opened_tick - 4)
        p_right = self._p_right(incident, effect) * coverage(rows, z_now)
        rng = np.random.default_rng(zlib.crc32(f"{incident.incident_id}/{incident.attempt}".encode()))
        got = sample(rows, z_now, effect, p_right=p_right, adequacy=reach, horizon=horizon, rng=rng,
                     samples=self.samples)
        gain = got.improvement
        p = float(np.mean(better(got.end, got.now)))
        needs_fixing = degraded(rows, z_now)
        pred = TwinPrediction(
            horizon_ticks=horizon, watched=len(set(rows.entity.tolist())),
            badness_without=round(got.without, 2),
            badness_with=round(float(got.per_tick.sum(axis=1).mean()), 2),
            improvement=round(float(gain.mean()), 2), improves=p >= 0.5, p_improves=round(p, 3),
            p_right=round(p_right, 3), improvement_low=round(float(np.percentile(gain, 10)), 2),
            improvement_high=round(float(np.percentile(gain, 90)), 2), degraded=needs_fixing, settled=settled,
            parameters=params, basis=basis)
        self._last = _Pending(call.tool, "", 0, rows, got.now, got.end, pred)
        return pred

    def acted(self, action_id: str, call: ToolCall, prediction: TwinPrediction, *, tick: int) -> None:
        """An action the last prediction was made for went ahead at ``tick``: check it later."""
        for value in prediction.parameters.values():
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if numeric and len(self._tried) < _MAX_CHECKS:
                self._tried[(call.target, call.tool)] = float(value)
        last = getattr(self, "_last", None)
        if last is None or last.prediction is not prediction or len(self._pending) >= _MAX_CHECKS:
            return
        self._pending[action_id] = _Pending(call.tool, action_id, tick + 1, last.rows, last.now, last.end,
                                            prediction)

    def on_tick(self, tick: int) -> list[TwinCheck]:
        """Predictions whose horizon ended by ``tick``, checked against the telemetry of those ticks."""
        self.history.on_tick(tick)
        self._expected = {k: v for k, v in self._expected.items() if tick - v[0] <= 120}
        self.inventory.forget_before(tick - 120)
        done = []
        for aid, p in list(self._pending.items()):
            if tick >= p.start + p.prediction.horizon_ticks:
                del self._pending[aid]
                check = self._check(p)
                if check is not None:
                    self.checks.append(check)
                    done.append(check)
        return done

    # --- internals -------------------------------------------------------------------------

    def _rows(self, call: ToolCall, incident: Incident, effect: ToolEffect | None
              ) -> tuple[Rows, np.ndarray, str]:
        cells = self.inventory.cells_behind(call.target)
        roles = {e: "other" for e in incident.symptoms}
        roles.update({c: "cells" for c in cells if c != call.target})
        roles[call.target] = "root"
        entities = list(roles)[:_MAX_WATCHED]
        series = self.history.series(entities)
        parts: list[tuple] = []
        from_detectors = 0
        told = {(v.entity_id, v.kpi): v.expected  # the detectors' baselines when they flagged the fault
                for c in {0, incident.attempt} for v in incident.candidates[c].evidence}
        for e in entities:
            if e not in series:
                continue
            ticks, values = series[e]
            kind = self.history.kind(e)
            if kind is None:
                continue
            names = [k.name for k in KPIS_BY_KIND[kind]]
            base, sigma = baseline(ticks, values, incident.opened_tick - 4)
            base = self._before(e, incident, ticks, base)
            own = base.copy()  # from the telemetry alone: the detectors' may be from another time
            for j, name in enumerate(names):  # theirs lately, else as the incident's evidence has it
                seen = self._expected.get((e, name), (0, told.get((e, name))))
                if seen[1] is not None:
                    base[j] = seen[1]
                    from_detectors += 1
            sigma = np.maximum(sigma, RELATIVE_FLOOR * np.abs(base))  # a dark history has no spread
            sign = np.array([_SIGN[k.bad] for k in KPIS_BY_KIND[kind]])
            restored = np.array([restores(effect, roles[e], n) for n in names], dtype=bool)
            now = current(values)
            parts.append((e, names, base, sigma, sign, restored, roles[e], now,
                          service_harm(names, own, now)))
        if not parts:
            return empty_rows(), np.zeros(0), ""
        rows = Rows(entity=np.array([e for p in parts for e in [p[0]] * len(p[1])]),
                    kpi=np.array([n for p in parts for n in p[1]]),
                    base=np.concatenate([p[2] for p in parts]), sigma=np.concatenate([p[3] for p in parts]),
                    sign=np.concatenate([p[4] for p in parts]),
                    restored=np.concatenate([p[5] for p in parts]),
                    role=np.array([r for p in parts for r in [p[6]] * len(p[1])]),
                    service=np.concatenate([p[8] for p in parts]))
        values_now = np.concatenate([p[7] for p in parts])
        basis = (f"{len(parts)} entities, {self.history.ticks} ticks of telemetry, "
                 f"{from_detectors} baselines from the detectors")
        return rows, values_now, basis

    def _parameters(self, call: ToolCall, effect: ToolEffect, *, before: int
                    ) -> tuple[dict[str, ToolArgument], float, bool]:
        """The parameter the effect model picks from the telemetry, how far the call reaches, and
        whether the load it is sized from has stopped moving."""
        rule = effect.parameter
        if rule is None:
            return {}, 1.0, True
        excess, settled = self._excess(call.target, rule.kpi, before) if rule.kpi else (None, True)
        picked = rule.pick(excess=excess)
        tried = self._tried.get((call.target, call.tool))
        if rule.source == "excess" and tried is not None and tried >= picked:  # not enough last time
            picked = rule.bounded(tried + 1 if rule.integer else tried * 1.5)
        value = float(call.arguments[rule.name]) if rule.name in call.arguments else picked  # type: ignore[arg-type]
        reach = min(1.0, value / picked) if picked else 1.0
        return {rule.name: int(value) if rule.integer else value}, reach, settled

    def note_incident(self, incident: Incident) -> None:
        """Remember what the incident's entities looked like before it opened: once the telemetry
        held has moved past that, it is the only baseline there is."""
        before = incident.opened_tick - 4
        ids = [c.entity_id for c in incident.candidates]
        for e, (ticks, values) in self.history.series(ids).items():
            if (ticks < before).sum() >= _PRE_TICKS and len(self._snapshots) < _MAX_CHECKS:
                self._snapshots[e] = (before, baseline(ticks, values, before)[0])

    def _before(self, entity: str, incident: Incident | None, ticks: np.ndarray, base: np.ndarray,
                before: int | None = None) -> np.ndarray:
        """``base`` from the telemetry held, unless it no longer reaches back before the incident and
        a snapshot taken when the incident opened does."""
        cut = incident.opened_tick - 4 if incident is not None else before
        snap = self._snapshots.get(entity)
        if (snap is None or cut is None or (ticks < cut).sum() >= _PRE_TICKS or snap[0] != cut
                or ticks[-1] - cut > _SNAPSHOT_TICKS):  # an old snapshot is from another hour of the day
            return base
        return snap[1].copy()

    def _excess(self, entity: str, kpi: str, before: int) -> tuple[float | None, bool]:
        """How far ``kpi`` of ``entity`` runs above what it was before the incident (a share, the
        highest of the last three ticks), and whether it has stopped rising."""
        series = self.history.series([entity]).get(entity)
        kind = self.history.kind(entity)
        if series is None or kind is None:
            return None, True
        j = [k.name for k in KPIS_BY_KIND[kind]].index(kpi)
        ticks, values = series
        base = float(self._before(entity, None, ticks, baseline(ticks, values, before)[0], before)[j])
        if base <= 0 or len(ticks) < 5:
            return None, True
        share = (values[:, j] - base) / base
        now, earlier = float(share[-3:].max()), float(share[-6:-3].max())
        return now, now - earlier <= 0.15 * abs(now) + 0.03

    def _p_right(self, incident: Incident, effect: ToolEffect) -> float:
        cands = incident.candidates
        k = incident.attempt
        if cands[k].fault_type not in effect.fixes:
            return 0.0
        conf = incident.confidence
        rest = [c.score for c in cands[1:]]
        priors = [conf] + [(1.0 - conf) * s / sum(rest) if sum(rest) else 0.0 for s in rest]
        tried = sum(priors[j] * _TYPICAL_SUCCESS for j in range(k))
        return float(np.clip(priors[k] / max(1e-9, 1.0 - tried), 0.0, 1.0))

    def _check(self, p: _Pending) -> TwinCheck | None:
        """The badness the telemetry showed at the end of the horizon, against the prediction."""
        h = p.prediction.horizon_ticks
        wanted = list(range(p.start + h - min(END_TICKS, h), p.start + h))
        series = self.history.series(sorted(set(p.rows.entity.tolist())))
        actual = 0.0
        for e, (ticks, values) in series.items():
            keep = np.isin(ticks, wanted)
            if not keep.any():
                return None  # every frame of the horizon's end is missing: no verdict
            mask = p.rows.entity == e
            sub = Rows(*(getattr(p.rows, f)[mask] for f in ("entity", "kpi", "base", "sigma", "sign",
                                                             "restored", "role", "service")))
            actual += float(sub.badness(values[keep]).sum(axis=1).mean())
        if not series:
            return None
        return TwinCheck(p.tool, p.action_id, round(p.now, 2), round(float(p.end.mean()), 2),
                         round(float(np.percentile(p.end, 10)), 2), round(float(np.percentile(p.end, 90)), 2),
                         p.prediction.p_improves or 0.0, round(actual, 2))
