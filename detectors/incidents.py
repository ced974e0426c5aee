"""From findings to incidents: confirm, open, merge, and retire — without flapping.

A finding becomes an incident once its root has fresh anomalies in
``confirm`` consecutive ticks. Later findings with the same root, or whose
anomalies mostly belong to an active incident, merge into it. Resolved
incidents retire at once; escalated ones once their anomalies have cleared.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from detectors.graph import TopologyGraph
from detectors.localizer import Finding, Hypothesis, Pair, localize
from schemas import AnomalyEvent, Candidate, Incident, IncidentStatus


@dataclass
class _Tracked:
    incident: Incident
    pairs: set[Pair] = field(default_factory=set)


class IncidentTracker:
    """Turns a stream of anomaly events, closed tick by tick, into incidents.

    Parameters
    ----------
    window
        Ticks an anomaly stays in the evidence after it was last seen.
    confirm
        Consecutive ticks with fresh anomalies on a root before an incident opens.
    """

    def __init__(self, *, graph: TopologyGraph, window: int = 3, confirm: int = 2,
                 min_quality: float = 0.3) -> None:
        self.graph = graph
        self.window, self.confirm, self.min_quality = window, confirm, min_quality
        self._last: dict[str, dict[str, int]] = defaultdict(dict)
        self._streak: dict[str, tuple[int, int]] = {}
        self._active: dict[str, _Tracked] = {}
        self._opened = 0

    def observe(self, event: AnomalyEvent) -> None:
        self._last[event.entity_id][event.kpi] = event.tick

    def update_status(self, incident: Incident) -> None:
        """Take a status change made elsewhere (verify): resolved retires the incident."""
        tracked = self._active.get(incident.incident_id)
        if tracked is None:
            return
        if incident.status is IncidentStatus.RESOLVED:
            del self._active[incident.incident_id]
        else:
            tracked.incident = incident

    def active(self) -> list[Incident]:
        return [t.incident for t in self._active.values()]

    def close_tick(self, tick: int) -> list[Incident]:
        """Localize on the window ending at ``tick``; return incidents opened at this tick."""
        anomalous = self._window(tick)
        fresh = {e for e, ks in self._last.items() if tick in ks.values()}
        opened = []
        for finding in localize(anomalous, self.graph, min_quality=self.min_quality):
            tracked = self._match(finding.best)
            if tracked is not None:
                tracked.pairs |= finding.best.explains
            elif self._confirmed(finding.best.entity_id, tick, fresh):
                opened.append(self._open(finding, tick))
        self._retire_quiet_escalations(anomalous)
        return opened

    def _window(self, tick: int) -> dict[str, set[str]]:
        horizon = tick - self.window
        out: dict[str, set[str]] = {}
        for e, kpis in list(self._last.items()):
            live = {k: t for k, t in kpis.items() if t > horizon}
            if live:
                self._last[e] = live
                out[e] = set(live)
            else:
                del self._last[e]
        return out

    def _confirmed(self, root: str, tick: int, fresh: set[str]) -> bool:
        if root not in fresh:
            return False
        last, n = self._streak.get(root, (-2, 0))
        n = n + 1 if last == tick - 1 else 1
        self._streak[root] = (tick, n)
        return n >= self.confirm

    def _match(self, best: Hypothesis) -> _Tracked | None:
        for tracked in self._active.values():
            inc = tracked.incident
            if best.entity_id == inc.candidates[0].entity_id:
                return tracked
            overlap = len(best.explains & tracked.pairs)
            if overlap * 2 >= len(best.explains):
                return tracked
        return None

    def _open(self, finding: Finding, tick: int) -> Incident:
        self._opened += 1
        best = finding.best
        candidates = [_candidate(h) for h in (best, *finding.alternatives)]
        incident = Incident(
            incident_id=f"INC-{self._opened:05d}", status=IncidentStatus.OPEN, opened_tick=tick,
            tick=tick, fault_type=best.fault_type, confidence=finding.confidence,
            candidates=candidates, symptoms=sorted(best.entities))
        self._active[incident.incident_id] = _Tracked(incident, set(best.explains))
        self._streak.pop(best.entity_id, None)
        return incident

    def _retire_quiet_escalations(self, anomalous: dict[str, set[str]]) -> None:
        for iid, tracked in list(self._active.items()):
            if tracked.incident.status is IncidentStatus.ESCALATED and not any(
                    e in anomalous for e, _ in tracked.pairs):
                del self._active[iid]


def _candidate(h: Hypothesis) -> Candidate:
    return Candidate(entity_id=h.entity_id, score=round(h.score(), 4), fault_type=h.fault_type,
                     explained=len(h.entities))
