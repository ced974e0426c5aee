"""Is a fault still there, or back? Read from the telemetry, not only from the anomalies.

A detector that learned from a fault's first episode may not flag its second
one (the fault came back after a fix, or flickered off for a tick and on
again): its yardstick grew with the first. The telemetry still shows it. So
verification reads the KPIs that made the incident — their baselines and
the values the fault gave them are in its evidence — and an incident is not
resolved while most of them are still more than half way from their
baseline to what the fault made of them; after a fix, its root is watched a
while for the same KPIs going that way again (a *relapse*), which opens a
new incident.

Only service KPIs count (latency, loss, errors, radio quality, handovers,
drops), and demand KPIs that went dark: more or less demand is people, not
a fault, and a surge's load stays up for as long as the crowd does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from actuators.forecast import DARK, LOAD_KPIS
from actuators.history import TelemetryHistory
from schemas import KPIS_BY_KIND, Candidate, Evidence, Incident, IncidentStatus

MIDWAY = 0.5  # a KPI shows its fault when it is at least this far from its baseline to the faulty value
RELAPSE_TICKS = 150  # how long a fixed root is watched for its symptoms coming back
STILL = (2, 4)  # still faulty: showing in 2 of the last 4 ticks held (an intermittent fault is off 1–2)
AGAIN = (2, 3)  # back: showing in 2 of the last 3 ticks held
STALE_TICKS = 2  # telemetry older than this says nothing about now


@dataclass(frozen=True)
class Symptom:
    """One KPI of one entity as an incident's fault left it: its baseline and the faulty value."""

    entity_id: str
    kpi: str
    baseline: float
    faulty: float

    def shows(self, value: float) -> bool:
        """Is ``value`` at least :data:`MIDWAY` of the way from the baseline to the faulty value?

        >>> Symptom("link-1", "latency_ms", 3.0, 24.0).shows(20.0)
        True
        >>> Symptom("link-1", "latency_ms", 3.0, 24.0).shows(5.0)
        False
        """
        gap = self.faulty - self.baseline
        return bool(gap) and (value - self.baseline) / gap >= MIDWAY


def symptoms_of(incident: Incident, root: str | None = None) -> tuple[Symptom, ...]:
    """The service KPIs of the incident's evidence (and demand KPIs it made go dark): those on ``root``
    (default: the candidate being remediated) when it has any, else all of them."""
    root = root or incident.candidates[incident.attempt].entity_id
    rows = [_symptom(e) for c in incident.candidates[:1] for e in c.evidence]
    kept = [s for s in rows if s is not None]
    own = [s for s in kept if s.entity_id == root]
    return tuple(own or kept)


def _symptom(e: Evidence) -> Symptom | None:
    if e.kpi in LOAD_KPIS and not (e.expected > 0 and e.value <= DARK * e.expected):
        return None
    return Symptom(e.entity_id, e.kpi, e.expected, e.value)


def showing(symptoms: tuple[Symptom, ...], history: TelemetryHistory, tick: int, *,
            need: int, of_last: int) -> bool:
    """Do most of ``symptoms`` show in at least ``need`` of the last ``of_last`` ticks held (up to
    ``tick``)? Without fresh telemetry of them: no."""
    if not symptoms:
        return False
    series = history.series({s.entity_id for s in symptoms})
    votes: dict[int, list[bool]] = {}
    for s in symptoms:
        held = series.get(s.entity_id)
        kind = history.kind(s.entity_id)
        if held is None or kind is None:
            continue
        names = [k.name for k in KPIS_BY_KIND[kind]]
        if s.kpi not in names:
            continue
        ticks, values = held
        j = names.index(s.kpi)
        for t, v in zip(ticks[-of_last:].tolist(), values[-of_last:, j].tolist(), strict=True):
            if tick - t < of_last + STALE_TICKS:
                votes.setdefault(t, []).append(s.shows(v))
    return sum(2 * sum(v) >= len(v) for v in votes.values()) >= need


def relapse(closed: Incident, symptoms: tuple[Symptom, ...], history: TelemetryHistory,
            tick: int) -> Incident:
    """A new open incident for a fixed fault whose symptoms are back: the fixed root first, with
    its fault type, and the rest of the old incident's candidates after it."""
    root = closed.candidates[closed.attempt]
    latest = _latest(history, symptoms)
    evidence = [Evidence(entity_id=s.entity_id, kpi=s.kpi, tick=tick, value=latest.get((s.entity_id, s.kpi),
                                                                                      s.faulty),
                         expected=s.baseline, score=1.0) for s in symptoms]
    first = Candidate(entity_id=root.entity_id, score=root.score, fault_type=root.fault_type,
                      explained=len({s.entity_id for s in symptoms}), evidence=evidence)
    rest = [c for c in closed.candidates if c.entity_id != root.entity_id]
    what = ", ".join(f"{s.kpi} on {s.entity_id} at {latest.get((s.entity_id, s.kpi), s.faulty):.3g} vs "
                     f"baseline {s.baseline:.3g}" for s in symptoms[:2])
    why = (f"the symptoms {closed.incident_id} was fixed of are back ({what}), {tick - closed.tick} ticks "
           f"after it was resolved")
    return Incident(
        incident_id=f"INC-{tick:06d}-{root.entity_id}", status=IncidentStatus.OPEN, opened_tick=tick,
        tick=tick, fault_type=root.fault_type, confidence=closed.confidence, candidates=[first, *rest],
        symptoms=sorted({s.entity_id for s in symptoms} | {root.entity_id}), reason=why)


def _latest(history: TelemetryHistory, symptoms: tuple[Symptom, ...]) -> Mapping[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for e, (_, values) in history.series({s.entity_id for s in symptoms}).items():
        kind = history.kind(e)
        if kind is None:
            continue
        names = [k.name for k in KPIS_BY_KIND[kind]]
        for s in symptoms:
            if s.entity_id == e and s.kpi in names:
                out[(e, s.kpi)] = float(np.asarray(values)[-1, names.index(s.kpi)])
    return out
