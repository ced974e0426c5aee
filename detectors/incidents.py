"""From findings to incidents: confirm, open, merge, and retire — without flapping.

Evidence is persistent anomalies only: a KPI of an entity counts once it has
been anomalous in ``persist`` consecutive ticks. Noise and one-tick glitches
are independent from tick to tick and rarely persist; a fault does. A finding
whose root has persistent anomalies at this tick opens an incident if it is
corroborated: it explains at least two anomalies, or its one anomaly has
lasted a tick longer (heavy-tailed noise does put one KPI out of range twice
in a row now and then; twice on two KPIs, or three times, it does not).
Later findings with the same root, or whose anomalies all belong to an
active incident, merge into it; a finding with a persistent anomaly of its
own is a fault of its own. Resolved incidents retire at once; escalated
ones once their anomalies have cleared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from detectors.classifier import FaultTypeClassifier
from detectors.graph import TopologyGraph
from detectors.localizer import Finding, Hypothesis, Pair, localize
from schemas import KPIS_BY_KIND, AnomalyEvent, Candidate, Incident, IncidentStatus

_ALL_KPIS = frozenset(k.name for kpis in KPIS_BY_KIND.values() for k in kpis)


@dataclass
class _Tracked:
    incident: Incident
    pairs: set[Pair] = field(default_factory=set)


class IncidentTracker:
    """Turns a stream of anomaly events, closed tick by tick, into incidents.

    Parameters
    ----------
    window
        Ticks a persistent anomaly stays in the evidence after it was last seen.
    persist
        Consecutive ticks a KPI must be anomalous before it counts as evidence.
    """

    def __init__(self, *, graph: TopologyGraph, window: int = 3, persist: int = 2,
                 min_quality: float = 0.3, classifier: FaultTypeClassifier | None = None,
                 calibration: Callable[[float], float] | None = None) -> None:
        self.graph = graph
        self.window, self.persist, self.min_quality = window, persist, min_quality
        self.classifier, self.calibration = classifier, calibration
        # entity -> KPI -> (last tick anomalous, consecutive ticks anomalous up to it)
        self._last: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        self._active: dict[str, _Tracked] = {}

    def observe(self, event: AnomalyEvent) -> None:
        kpis = self._last[event.entity_id]
        last, run = kpis.get(event.kpi, (-2, 0))
        if last != event.tick:
            kpis[event.kpi] = (event.tick, run + 1 if last == event.tick - 1 else 1)

    def update_status(self, incident: Incident) -> None:
        """Take a status change made elsewhere (verify): resolved retires the incident."""
        tracked = self._active.get(incident.incident_id)
        if tracked is None:
            return
        if incident.status is IncidentStatus.RESOLVED:
            del self._active[incident.incident_id]
        else:
            tracked.incident = incident

    def restore(self, incidents: Iterable[Incident]) -> None:
        """Take back incidents after a restart: the latest version of each, read from the log.

        Call it once the anomalies seen before the restart went through :meth:`observe`.
        Open and mitigating incidents are active again. An escalated one is only while its
        entities are still anomalous: a quiet escalation would have been retired. The log
        does not keep which (entity, KPI) pairs an incident explained, so a restored one
        claims every KPI of its entities: findings there merge into it rather than open a
        second incident for the same fault.
        """
        latest = max((t for kpis in self._last.values() for t, _ in kpis.values()), default=0)
        for inc in incidents:
            entities = {*inc.symptoms, inc.candidates[0].entity_id}
            if inc.status is IncidentStatus.RESOLVED or (
                    inc.status is IncidentStatus.ESCALATED
                    and not any(self._persistent(e, latest) for e in entities)):
                continue
            self._active[inc.incident_id] = _Tracked(inc, {(e, k) for e in entities for k in _ALL_KPIS})

    def _persistent(self, entity: str, tick: int) -> bool:
        return any(t > tick - self.window and run >= self.persist
                   for t, run in self._last.get(entity, {}).values())

    def active(self) -> list[Incident]:
        return [t.incident for t in self._active.values()]

    def close_tick(self, tick: int) -> list[Incident]:
        """Localize on the window ending at ``tick``; return incidents opened at this tick."""
        anomalous, fresh = self._evidence(tick)
        opened = []
        for finding in localize(anomalous, self.graph, min_quality=self.min_quality):
            tracked = self._match(finding.best)
            if tracked is not None:
                tracked.pairs |= finding.best.explains
            elif finding.best.entity_id in fresh and self._corroborated(finding.best):
                opened.append(self._open(finding, tick, anomalous))
        self._retire_quiet_escalations(self._last)  # any anomaly in the window: a flicker has not cleared
        return opened

    def _evidence(self, tick: int) -> tuple[dict[str, set[str]], set[str]]:
        """Persistent anomalies in the window per entity, and the entities persistent now."""
        horizon = tick - self.window
        anomalous: dict[str, set[str]] = {}
        fresh: set[str] = set()
        for e, kpis in list(self._last.items()):
            live = {k: v for k, v in kpis.items() if v[0] > horizon}
            if not live:
                del self._last[e]
                continue
            self._last[e] = live
            persistent = {k for k, (_, run) in live.items() if run >= self.persist}
            if persistent:
                anomalous[e] = persistent
            if any(t == tick and run >= self.persist for t, run in live.values()):
                fresh.add(e)
        return anomalous, fresh

    def _corroborated(self, best: Hypothesis) -> bool:
        if len(best.explains) >= 2:
            return True
        ((entity, kpi),) = best.explains
        return self._last[entity][kpi][1] > self.persist

    def _match(self, best: Hypothesis) -> _Tracked | None:
        for tracked in self._active.values():
            inc = tracked.incident
            if best.entity_id == inc.candidates[0].entity_id:
                return tracked
            if best.explains <= tracked.pairs:
                return tracked
        return None

    def _open(self, finding: Finding, tick: int, anomalous: dict[str, set[str]]) -> Incident:
        best = finding.best
        candidates = [_candidate(h) for h in (best, *finding.alternatives)]
        if self.classifier is not None:  # where: the signatures' ranking; what: the learned classifier
            fault_type, _ = self.classifier.classify(best.entity_id, anomalous, self.graph)
            candidates[0] = candidates[0].model_copy(update={"fault_type": fault_type})
        incident = Incident(
            incident_id=incident_id(tick, best.entity_id), status=IncidentStatus.OPEN, opened_tick=tick,
            tick=tick, fault_type=candidates[0].fault_type, confidence=self._confidence(finding),
            candidates=candidates, symptoms=sorted(best.entities))
        self._active[incident.incident_id] = _Tracked(incident, set(best.explains))
        return incident

    def _confidence(self, finding: Finding) -> float:
        raw = finding.confidence
        return raw if self.calibration is None else round(self.calibration(raw), 3)

    def _retire_quiet_escalations(self, anomalous: Mapping[str, object]) -> None:
        for iid, tracked in list(self._active.items()):
            if tracked.incident.status is IncidentStatus.ESCALATED and not any(
                    e in anomalous for e, _ in tracked.pairs):
                del self._active[iid]


def incident_id(tick: int, root: str) -> str:
    """An id made of what the incident is: when it opened and on which root.

    A worker that restarts and processes the same anomalies again derives the
    same id, and so the same action ids, which the tool server applies once.

    >>> incident_id(181, "link-0003")
    'INC-000181-link-0003'
    """
    return f"INC-{tick:06d}-{root}"


def _candidate(h: Hypothesis) -> Candidate:
    return Candidate(entity_id=h.entity_id, score=round(h.score(), 4), fault_type=h.fault_type,
                     explained=len(h.entities))
