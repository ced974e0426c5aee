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

A fault that ramps or flickers shows one KPI first and its others later, so
an open incident nothing has been done about yet is typed again when a
finding on its root brings new anomalies, or when an alarm on its root is
raised or cleared (equipment announces a hard failure 0–3 ticks late), for
``retype_ticks`` after it opened: when the type changes, a new version of
the incident (same id, still open) carries the new type and the evidence
it rests on.

An alarm no incident is rooted on after ``ALARM_TICKS`` opens one on its
entity (failed hardware may barely move a KPI), and an open incident opened
elsewhere (verify reopens a fixed fault that came back) is tracked like one
of the tracker's own. Runs of anomalous ticks are :mod:`detectors.runs`'.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field

from detectors.alarms import ActiveAlarms
from detectors.classifier import FaultTypeClassifier, gone_dark
from detectors.graph import TopologyGraph
from detectors.localizer import Finding, Hypothesis, Pair, Seen, localize
from detectors.profiles import SymptomProfiles
from detectors.ranking import RankingModel
from detectors.runs import AnomalyRuns
from schemas import KPIS_BY_KIND, AlarmEvent, AnomalyEvent, Candidate, Evidence, Incident, IncidentStatus

_ALL_KPIS = frozenset(k.name for kpis in KPIS_BY_KIND.values() for k in kpis)
ALARM_TICKS = 3  # an alarm no incident is rooted on after this many ticks opens one on its entity
_RETIRED_KEPT = 10_000  # ids of retired incidents remembered, so a late copy is not tracked again


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
    retype_ticks
        How long after opening an incident that is still open is typed again as evidence grows.
    unremedied
        Fault types no policy fixes: the classifier names them only when it is sure.
    """

    def __init__(self, *, graph: TopologyGraph, window: int = 3, persist: int = 2,
                 classifier: FaultTypeClassifier | None = None,
                 calibration: Callable[[float], float] | None = None, model: RankingModel | None = None,
                 profiles: SymptomProfiles | None = None, retype_ticks: int = 30,
                 unremedied: frozenset[str] = frozenset()) -> None:
        self.graph = graph
        self.window, self.persist, self.retype_ticks = window, persist, retype_ticks
        self.classifier, self.calibration = classifier, calibration
        self.model, self.profiles, self.unremedied = model, profiles, unremedied
        self._runs = AnomalyRuns()
        self._active: dict[str, _Tracked] = {}
        self._retired: OrderedDict[str, None] = OrderedDict()  # lately retired: never tracked again
        self.alarms = ActiveAlarms()

    def observe(self, event: AnomalyEvent) -> None:
        self._runs.observe(event)

    def update_status(self, incident: Incident) -> None:
        """Take a status change made elsewhere (verify): resolved retires the incident. An open incident
        opened elsewhere (verify reopens a fixed fault whose symptoms came back) is tracked like one of
        this tracker's own, so findings on its root merge into it."""
        iid = incident.incident_id
        tracked = self._active.get(iid)
        if tracked is None:
            if incident.status is IncidentStatus.OPEN and not incident.attempt and iid not in self._retired:
                pairs = {(e.entity_id, e.kpi) for c in incident.candidates[:1] for e in c.evidence}
                self._active[iid] = _Tracked(incident, pairs)
            return
        if incident.status is IncidentStatus.RESOLVED:
            self._retire(iid)
        else:
            tracked.incident = incident

    def _retire(self, incident_id: str) -> None:
        del self._active[incident_id]
        self._retired[incident_id] = None
        while len(self._retired) > _RETIRED_KEPT:
            self._retired.popitem(last=False)

    def restore(self, incidents: Iterable[Incident]) -> None:
        """Take back incidents after a restart: the latest version of each, read from the log.

        Call it once the anomalies seen before the restart went through :meth:`observe`.
        Open and mitigating incidents are active again. An escalated one is only while its
        entities are still anomalous: a quiet escalation would have been retired. The log
        does not keep which (entity, KPI) pairs an incident explained, so a restored one
        claims every KPI of its entities: findings there merge into it rather than open a
        second incident for the same fault.
        """
        latest = self._runs.latest()
        for inc in incidents:
            entities = {*inc.symptoms, inc.candidates[0].entity_id}
            if inc.status is IncidentStatus.RESOLVED or (
                    inc.status is IncidentStatus.ESCALATED
                    and not any(self._runs.persistent(e, latest, window=self.window, persist=self.persist)
                                for e in entities)):
                continue
            self._active[inc.incident_id] = _Tracked(inc, {(e, k) for e in entities for k in _ALL_KPIS})

    def active(self) -> list[Incident]:
        return [t.incident for t in self._active.values()]

    def close_tick(self, tick: int) -> list[Incident]:
        """Localize on the window ending at ``tick``; return incidents opened, or typed again, at this
        tick."""
        anomalous, fresh = self._runs.window(tick, window=self.window, persist=self.persist)
        opened = []
        for finding in localize(anomalous, self.graph, model=self.model, profiles=self.profiles):
            tracked = self._match(finding.best)
            if tracked is not None:
                grown = bool(finding.best.explains - tracked.pairs)
                tracked.pairs |= finding.best.explains
                if grown and (again := self._retype(tracked, tick, anomalous, finding)) is not None:
                    opened.append(again)
            elif finding.best.entity_id in fresh and self._corroborated(finding.best):
                opened.append(self._open(finding, tick, anomalous))
        alarmed = self.alarms.changed() - {i.candidates[0].entity_id for i in opened}
        for tracked in list(self._active.values()):  # an alarm raised or cleared on a root: typed again
            root = tracked.incident.candidates[0].entity_id
            if root in alarmed and (again := self._retype(tracked, tick, anomalous)) is not None:
                opened.append(again)
        rooted = {i.candidates[i.attempt].entity_id for i in self.active()} | {
            i.candidates[0].entity_id for i in self.active()}
        for entity in self.alarms.unheeded(rooted, tick, after=ALARM_TICKS):  # a fault nothing localized
            if entity in self.graph:
                opened.append(self._open_announced(entity, tick, anomalous))
        self._retire_quiet_escalations(self._runs)  # any anomaly in the window: a flicker has not cleared
        return opened

    def alarm(self, event: AlarmEvent) -> None:
        """An alarm raised or cleared: evidence of the fault type on its entity."""
        self.alarms.note(event)

    def _corroborated(self, best: Hypothesis) -> bool:
        if len(best.explains) >= 2:
            return True
        ((entity, kpi),) = best.explains
        return self._runs.length(entity, kpi) > self.persist

    def _match(self, best: Hypothesis) -> _Tracked | None:
        for tracked in self._active.values():
            inc = tracked.incident
            if best.entity_id == inc.candidates[0].entity_id:
                return tracked
            if best.explains <= tracked.pairs:
                return tracked
        return None

    def _open(self, finding: Finding, tick: int, anomalous: dict[str, dict[str, Seen]]) -> Incident:
        best = finding.best
        candidates = [_candidate(h) for h in (best, *finding.alternatives)]
        if self.classifier is not None:  # where: the ranking; what: the learned classifier
            candidates[0] = candidates[0].model_copy(update={"fault_type": self._type_of(best.entity_id,
                                                                                          anomalous)})
        incident = Incident(
            incident_id=incident_id(tick, best.entity_id), status=IncidentStatus.OPEN, opened_tick=tick,
            tick=tick, fault_type=candidates[0].fault_type, confidence=self._confidence(finding),
            candidates=candidates, symptoms=sorted(best.entities))
        self._active[incident.incident_id] = _Tracked(incident, set(best.explains))
        return incident

    def _open_announced(self, entity: str, tick: int, anomalous: dict[str, dict[str, Seen]]) -> Incident:
        """An incident on an entity whose alarm has stood ``ALARM_TICKS`` with no incident rooted on it,
        whatever its KPIs show: failed hardware may degrade a cell too little to flag, or only show on
        the cells behind an NF, and the alarm says where the fault is. (Sooner, the KPIs usually tell
        more, and an incident opened on them is typed with the alarm too.)"""
        own = anomalous.get(entity, {})
        evidence = [Evidence(entity_id=entity, kpi=k, tick=int(s.onset), value=s.value, expected=s.expected,
                             score=round(s.score, 3)) for k, s in sorted(own.items())]
        fault_type = self._type_of(entity, anomalous)
        cand = Candidate(entity_id=entity, score=1.0, fault_type=fault_type, explained=1, evidence=evidence)
        incident = Incident(
            incident_id=incident_id(tick, entity), status=IncidentStatus.OPEN, opened_tick=tick, tick=tick,
            fault_type=fault_type, confidence=self._calibrated(1.0),
            candidates=[cand], symptoms=[entity],
            reason=f"alarms {', '.join(sorted(self.alarms.causes(entity)))} on {entity}")
        self._active[incident.incident_id] = _Tracked(incident, {(entity, k) for k in own})
        return incident

    def _retype(self, tracked: _Tracked, tick: int, anomalous: dict[str, dict[str, Seen]],
                finding: Finding | None = None) -> Incident | None:
        """A new version of an open, untouched incident whose type the grown evidence (``finding``) or
        the alarms now standing on its root change."""
        inc = tracked.incident
        root = inc.candidates[0].entity_id
        if (self.classifier is None or inc.status is not IncidentStatus.OPEN or inc.attempt
                or (finding is not None and finding.best.entity_id != root)
                or tick - inc.opened_tick > self.retype_ticks):
            return None
        fault_type = self._type_of(root, anomalous)
        if fault_type == inc.fault_type:
            return None
        first = _candidate(finding.best) if finding is not None else inc.candidates[0]
        grown = set(finding.best.entities) if finding is not None else set()
        on = f"the evidence since tick {inc.opened_tick}" if finding is not None else f"the alarms on {root}"
        again = inc.model_copy(update={
            "tick": tick, "fault_type": fault_type,
            "candidates": [first.model_copy(update={"fault_type": fault_type}), *inc.candidates[1:]],
            "symptoms": sorted(set(inc.symptoms) | grown),
            "reason": f"typed again at tick {tick}: {fault_type}, not {inc.fault_type}, on {on}"})
        tracked.incident = again
        return again

    def _type_of(self, root: str, anomalous: dict[str, dict[str, Seen]]) -> str | None:
        """The classifier's fault type for ``root`` on the window's anomalies and the alarms standing."""
        if self.classifier is None:
            return None
        kpis = {e: set(k) for e, k in anomalous.items()}
        return self.classifier.classify(root, kpis, self.graph, self.alarms, gone_dark(anomalous),
                                        self.unremedied)[0]

    def _confidence(self, finding: Finding) -> float:
        return self._calibrated(finding.confidence)

    def _calibrated(self, raw: float) -> float:
        return raw if self.calibration is None else round(self.calibration(raw), 3)

    def _retire_quiet_escalations(self, anomalous: Container[str]) -> None:
        for iid, tracked in list(self._active.items()):
            if tracked.incident.status is IncidentStatus.ESCALATED and not any(
                    e in anomalous for e, _ in tracked.pairs):
                self._retire(iid)


def incident_id(tick: int, root: str) -> str:
    """An id made of what the incident is: when it opened and on which root.

    A worker that restarts and processes the same anomalies again derives the
    same id, and so the same action ids, which the tool server applies once.

    >>> incident_id(181, "link-0003")
    'INC-000181-link-0003'
    """
    return f"INC-{tick:06d}-{root}"


def _candidate(h: Hypothesis) -> Candidate:
    """The hypothesis as a candidate, with the evidence that ranked it (its window's KPIs only)."""
    evidence = [Evidence(entity_id=e.entity_id, kpi=e.kpi, tick=int(e.onset), value=e.value,
                         expected=e.baseline, score=round(e.magnitude, 3)) for e in h.evidence]
    return Candidate(entity_id=h.entity_id, score=round(max(h.score, 0.0), 4), fault_type=h.fault_type,
                     explained=len(h.entities), evidence=evidence)
