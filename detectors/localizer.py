"""The loop's localizer: the anomalies of a window, ranked as root causes on the topology.

Every observable entity that is anomalous, or upstream of one that is, is a
candidate. Its evidence is what the detectors saw (each KPI's largest score
in its current run, value, baseline and onset tick) and, when the model has
learned symptom profiles (:mod:`detectors.profiles`), how well the
anomalies on it and behind it fit the likeliest fault type of its kind. The
candidates are ranked by :func:`detectors.ranking.rank`, the ranking
``netloop evaluate --rca`` scores on real data, with the weights fitted on
simulated episodes. A greedy cover then takes the best candidate, removes
the anomalies it explains (its own, and those behind it its fault type
makes likely), and ranks again, so several faults in different places
become several findings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from math import log1p

import numpy as np

from detectors.evidence import ColumnEvidence
from detectors.graph import TopologyGraph
from detectors.learned import shipped_profiles, shipped_ranking
from detectors.profiles import Profile, SymptomProfiles
from detectors.ranking import FEATURES, KpiEvidence, RankingModel, entity_features, order
from schemas import OBSERVABLE_KINDS, EntityKind, kpi_names

Pair = tuple[str, str]  # (entity id, KPI)
_DEFAULT_SCORE = 6.0  # what a KPI given only by name is taken to have scored


@dataclass(frozen=True)
class Seen:
    """One KPI of one entity, anomalous in the window: its run's onset tick and largest score, the value
    and baseline at that score."""

    onset: int
    score: float
    value: float = 0.0
    expected: float = 0.0


Observed = Mapping[str, Mapping[str, Seen] | AbstractSet[str]]


@dataclass(frozen=True)
class Hypothesis:
    """A candidate root, its likeliest fault type, its ranking score, the anomalies it explains and the
    evidence behind it (its own KPIs and those it explains, largest first)."""

    entity_id: str
    fault_type: str | None
    score: float
    explains: frozenset[Pair]
    evidence: tuple[KpiEvidence, ...] = ()

    @property
    def entities(self) -> frozenset[str]:
        return frozenset(e for e, _ in self.explains)


@dataclass(frozen=True)
class Finding:
    """A selected root cause, its ranked alternatives and a confidence in 0..1 (the model's probability
    of the best among the hypotheses explaining the same anomalies)."""

    best: Hypothesis
    alternatives: tuple[Hypothesis, ...]
    confidence: float


def localize(observed: Observed, graph: TopologyGraph, *, model: RankingModel | None = None,
             profiles: SymptomProfiles | None = None, max_alternatives: int = 4) -> list[Finding]:
    """Root causes of the anomalies in ``observed`` (entity → KPI → :class:`Seen`, or entity → KPI names).

    ``model`` and ``profiles`` default to the ones fitted on simulated episodes.
    """
    model = model or shipped_ranking("loop")
    profiles = profiles if profiles is not None else shipped_profiles()
    remaining = {(e, k): s for e, kpis in observed.items() if e in graph for k, s in _seen(kpis).items()}
    findings: list[Finding] = []
    while remaining:
        hyps = _hypotheses(remaining, graph, model, profiles)
        best = next((h for h in hyps if h.explains), None)
        if best is None:
            break
        alts = tuple(h for h in hyps if h is not best and h.explains & best.explains)[:max_alternatives]
        findings.append(Finding(best, alts, _confidence(best, alts)))
        for pair in best.explains:
            remaining.pop(pair, None)
    return findings


def _seen(kpis: Mapping[str, Seen] | AbstractSet[str]) -> Mapping[str, Seen]:
    if isinstance(kpis, Mapping):
        return kpis
    return {k: Seen(onset=0, score=_DEFAULT_SCORE) for k in kpis}


def candidate_features(observed: Observed, graph: TopologyGraph, profiles: SymptomProfiles | None = None
                       ) -> tuple[list[str], np.ndarray]:
    """The candidates of ``observed`` (sorted) and their ranking features: what the loop's weights are
    fitted on (:func:`detectors.fitting.fit_model`)."""
    profiles = profiles if profiles is not None else shipped_profiles()
    pairs = {(e, k): s for e, kpis in observed.items() if e in graph for k, s in _seen(kpis).items()}
    if not pairs:
        return [], np.zeros((0, len(FEATURES)))
    names, typed, ev = _candidates(pairs, graph, profiles)
    fit = np.array([log1p(max(llr, 0.0)) for _, llr in typed])
    return names, entity_features(ev, names, graph.parents, fit)


def _candidates(pairs: Mapping[Pair, Seen], graph: TopologyGraph, profiles: SymptomProfiles
                ) -> tuple[list[str], list[tuple[Profile | None, float]], ColumnEvidence]:
    anomalous = _by_entity(pairs)
    candidates = set(anomalous)
    for e in anomalous:
        candidates |= graph.upstream_of(e)
    names = sorted(candidates)
    behind = _behind(anomalous, graph, names)
    typed = [_likeliest(c, anomalous, behind[c], graph, profiles) for c in names]
    return names, typed, _column_evidence(pairs, graph)


def _by_entity(pairs: Mapping[Pair, Seen]) -> dict[str, set[str]]:
    anomalous: dict[str, set[str]] = {}
    for e, k in pairs:
        anomalous.setdefault(e, set()).add(k)
    return anomalous


def _hypotheses(pairs: Mapping[Pair, Seen], graph: TopologyGraph, model: RankingModel,
                profiles: SymptomProfiles) -> list[Hypothesis]:
    """Every candidate as a hypothesis, best ranked first."""
    names, typed, ev = _candidates(pairs, graph, profiles)
    fit = np.array([log1p(max(llr, 0.0)) for _, llr in typed])
    ranking = order(ev, names, entity_features(ev, names, graph.parents, fit), model)
    anomalous = _by_entity(pairs)
    by_name = dict(zip(names, typed, strict=True))
    out = []
    for c, score in zip(ranking.ranked, ranking.scores.tolist(), strict=True):
        profile = by_name[c][0]
        explains = _explained(c, profile, anomalous, graph, profiles)
        out.append(Hypothesis(c, profile.fault_type if profile else None, round(score, 4), explains,
                              _evidence(explains, pairs)))
    return out


def _behind(anomalous: Mapping[str, set[str]], graph: TopologyGraph, names: Sequence[str]
            ) -> dict[str, dict[EntityKind, tuple[int, Counter]]]:
    """For every candidate: per kind, how many entities depend on it and how many show each KPI."""
    out: dict[str, dict[EntityKind, tuple[int, Counter]]] = {}
    for c in names:
        out[c] = {k: (n, Counter()) for k in OBSERVABLE_KINDS if (n := graph.reach_count(c, k))}
    for e, kpis in anomalous.items():
        kind = graph.kind(e)
        for u in graph.upstream_of(e):
            if u in out and kind in out[u]:
                out[u][kind][1].update(kpis)
    return out


def _likeliest(c: str, anomalous: Mapping[str, set[str]], behind: Mapping[EntityKind, tuple[int, Counter]],
               graph: TopologyGraph, profiles: SymptomProfiles) -> tuple[Profile | None, float]:
    """The fault type of ``c``'s kind whose profile fits best, and its log-likelihood ratio."""
    own = anomalous.get(c, set())
    scored = [(profiles.log_likelihood_ratio(p, own, behind), p) for p in profiles.of_kind(graph.kind(c))]
    if not scored:
        return None, 0.0
    llr, p = max(scored, key=lambda x: (x[0], x[1].fault_type))
    return p, llr


def _explained(c: str, profile: Profile | None, anomalous: Mapping[str, set[str]], graph: TopologyGraph,
               profiles: SymptomProfiles) -> frozenset[Pair]:
    """Its own anomalies, and those behind it that its fault type makes likely (all of them, untyped)."""
    out = {(c, k) for k in anomalous.get(c, ())}
    reach = graph.reach(c)
    for e, kpis in anomalous.items():
        if e in reach:
            kind = graph.kind(e)
            out |= {(e, k) for k in kpis
                    if profile is None or profiles.explains(profile, kind, k, on_root=False)}
    return frozenset(out)


def _column_evidence(pairs: Mapping[Pair, Seen], graph: TopologyGraph) -> ColumnEvidence:
    keys = sorted(pairs)
    seen = [pairs[p] for p in keys]
    first = min(s.onset for s in seen)
    value = np.array([s.value for s in seen])
    expected = np.array([s.expected for s in seen])
    n = len(keys)
    return ColumnEvidence(
        entities=tuple(e for e, _ in keys), kpis=tuple(k for _, k in keys),
        magnitude=np.array([s.score for s in seen]), onset=np.array([float(s.onset - first) for s in seen]),
        hot=np.ones(n, dtype=bool), value=value, baseline=expected,
        relative=np.abs(value - expected) / np.maximum(np.abs(expected), 1e-9), status=np.zeros(n, bool),
        idle=np.zeros(n, bool), widths={e: len(kpi_names(graph.kind(e))) for e, _ in keys})


def _evidence(explains: frozenset[Pair], pairs: Mapping[Pair, Seen], limit: int = 8
              ) -> tuple[KpiEvidence, ...]:
    rows = [KpiEvidence(e, k, pairs[(e, k)].value, pairs[(e, k)].expected, pairs[(e, k)].score,
                        float(pairs[(e, k)].onset)) for e, k in explains if (e, k) in pairs]
    return tuple(sorted(rows, key=lambda r: (-r.magnitude, r.entity_id, r.kpi))[:limit])


def _confidence(best: Hypothesis, alts: tuple[Hypothesis, ...]) -> float:
    scores = np.array([best.score, *(a.score for a in alts)])
    p = np.exp(scores - scores.max())
    return round(float(p[0] / p.sum()), 3)
