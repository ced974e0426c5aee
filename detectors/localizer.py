"""Topology-aware root-cause ranking over a window of anomalies.

Each observable entity that is anomalous, or upstream of one that is, is a
candidate root; each fault type its kind can suffer is a hypothesis. A
hypothesis explains the (entity, KPI) anomalies its signature predicts: on
the root itself and on the cells behind it. Its quality is how well the
evidence matches (F1 of KPI sets on the root, coverage of the cells), and its
score is quality × log2(1 + anomalies explained). A greedy cover then picks
roots until every explained anomaly is accounted for, so several faults in
different places become several findings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from math import log2

from detectors.graph import TopologyGraph
from detectors.signatures import SIGNATURES_BY_KIND, Signature, match

Pair = tuple[str, str]  # (entity id, KPI)


@dataclass(frozen=True)
class Hypothesis:
    """A candidate root with a fault type and the anomalies it explains."""

    entity_id: str
    fault_type: str
    quality: float
    explains: frozenset[Pair]

    def score(self, among: AbstractSet[Pair] | None = None) -> float:
        n = len(self.explains if among is None else self.explains & among)
        return self.quality * log2(1 + n)

    @property
    def entities(self) -> frozenset[str]:
        return frozenset(e for e, _ in self.explains)


@dataclass(frozen=True)
class Finding:
    """A selected root cause, its ranked alternatives and a confidence in 0..1."""

    best: Hypothesis
    alternatives: tuple[Hypothesis, ...]
    confidence: float


def localize(anomalous: Mapping[str, AbstractSet[str]], graph: TopologyGraph, *,
             min_quality: float = 0.3, max_alternatives: int = 4) -> list[Finding]:
    """Rank root causes for the anomalous KPIs of each entity (``entity -> KPIs``)."""
    hyps = [h for h in _hypotheses(anomalous, graph) if h.quality >= min_quality]
    uncovered = {(e, k) for e, ks in anomalous.items() for k in ks}
    findings: list[Finding] = []
    while hyps:
        best = max(hyps, key=lambda h: (h.score(uncovered), h.quality, h.entity_id))
        if not best.explains & uncovered:
            break
        alts = _alternatives(best, hyps, max_alternatives)
        findings.append(Finding(best, alts, _confidence(best, alts)))
        uncovered -= best.explains
    return findings


def _hypotheses(anomalous: Mapping[str, AbstractSet[str]], graph: TopologyGraph) -> Iterator[Hypothesis]:
    candidates = {e for e in anomalous if e in graph}
    for e in list(candidates):
        candidates |= graph.upstream_of(e)
    for c in sorted(candidates):
        for sig in SIGNATURES_BY_KIND[graph.kind(c)]:
            yield _hypothesis(c, sig, anomalous, graph)


def _hypothesis(c: str, sig: Signature, anomalous: Mapping[str, AbstractSet[str]],
                graph: TopologyGraph) -> Hypothesis:
    own = anomalous.get(c, frozenset())
    root_match = match(own, sig.root_kpis)
    explains = {(c, k) for k in own & sig.root_kpis}
    if not sig.cell_kpis:
        return Hypothesis(c, sig.fault_type, root_match, frozenset(explains))
    cells = graph.cells_of(c)
    hit = 0
    for cell in cells:
        seen = anomalous.get(cell, frozenset()) & sig.cell_kpis
        explains |= {(cell, k) for k in seen}
        hit += bool(seen)
    coverage = hit / len(cells) if cells else 0.0
    return Hypothesis(c, sig.fault_type, 0.5 * root_match + 0.5 * coverage, frozenset(explains))


def _alternatives(best: Hypothesis, hyps: list[Hypothesis], limit: int) -> tuple[Hypothesis, ...]:
    per_entity: dict[str, Hypothesis] = {}
    for h in hyps:
        if h.entity_id == best.entity_id or not h.explains & best.explains:
            continue
        if h.entity_id not in per_entity or h.score() > per_entity[h.entity_id].score():
            per_entity[h.entity_id] = h
    ranked = sorted(per_entity.values(), key=lambda h: (-h.score(), h.entity_id))
    return tuple(ranked[:limit])


def _confidence(best: Hypothesis, alts: tuple[Hypothesis, ...]) -> float:
    s1 = best.score()
    s2 = alts[0].score() if alts else 0.0
    return round(best.quality * s1 / (s1 + s2), 3) if s1 > 0 else 0.0
