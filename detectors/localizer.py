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
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from math import log1p

import numpy as np

from detectors.evidence import ColumnEvidence
from detectors.graph import TopologyGraph
from detectors.learned import shipped_profiles, shipped_ranking
from detectors.profiles import Profile, SymptomProfiles
from detectors.ranking import FEATURES, KpiEvidence, RankingModel, entity_features, order
from schemas import EntityKind

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
    remaining = _pairs(observed, graph)
    findings: list[Finding] = []
    while remaining:
        window = _Window(remaining, graph, profiles)
        finding = window.finding(model, max_alternatives)
        if finding is None:
            break
        findings.append(finding)
        for pair in finding.best.explains:
            remaining.pop(pair, None)
    return findings


def candidate_features(observed: Observed, graph: TopologyGraph, profiles: SymptomProfiles | None = None
                       ) -> tuple[list[str], np.ndarray]:
    """The candidates of ``observed`` (sorted) and their ranking features: what the loop's weights are
    fitted on (:func:`detectors.fitting.fit_model`)."""
    pairs = _pairs(observed, graph)
    if not pairs:
        return [], np.zeros((0, len(FEATURES)))
    window = _Window(pairs, graph, profiles if profiles is not None else shipped_profiles())
    return window.names, window.features


def _pairs(observed: Observed, graph: TopologyGraph) -> dict[Pair, Seen]:
    return {(e, k): s for e, kpis in observed.items() if e in graph for k, s in _seen(kpis).items()}


def _seen(kpis: Mapping[str, Seen] | AbstractSet[str]) -> Mapping[str, Seen]:
    if isinstance(kpis, Mapping):
        return kpis
    return {k: Seen(onset=0, score=_DEFAULT_SCORE) for k in kpis}


class _Window:
    """The anomalies still to explain, their candidates, and each candidate's likeliest fault type."""

    def __init__(self, pairs: Mapping[Pair, Seen], graph: TopologyGraph, profiles: SymptomProfiles) -> None:
        self.pairs, self.graph, self.profiles = pairs, graph, profiles
        self.anomalous: dict[str, set[str]] = {}
        for e, k in pairs:
            self.anomalous.setdefault(e, set()).add(k)
        self.below: dict[str, list[str]] = {}  # candidate -> anomalous entities that depend on it
        self.counts: dict[str, dict[EntityKind, Counter]] = {}  # ... and how many of them show each KPI
        for e, kpis in self.anomalous.items():
            self.below.setdefault(e, [])
            kind = graph.kind(e)
            for u in graph.upstream_of(e):
                self.below.setdefault(u, []).append(e)
                self.counts.setdefault(u, {}).setdefault(kind, Counter()).update(kpis)
        self.names = sorted(self.below)
        self.typed = self._likeliest()
        self.evidence = _column_evidence(pairs, graph)
        fit = np.array([log1p(max(llr, 0.0)) for _, llr in self.typed])
        self.features = entity_features(self.evidence, self.names, graph.parents, fit)

    def finding(self, model: RankingModel, max_alternatives: int) -> Finding | None:
        """The best hypothesis that explains something, and the next ones that explain some of the same."""
        ranking = order(self.evidence, self.names, self.features, model)
        index = {n: i for i, n in enumerate(self.names)}
        best, alts = None, []
        for c, score in zip(ranking.ranked, ranking.scores.tolist(), strict=True):
            h = self._hypothesis(c, index[c], score)
            if best is None:
                best = h if h.explains else None
            elif h.explains & best.explains:
                alts.append(h)
                if len(alts) == max_alternatives:
                    break
        if best is None:
            return None
        return Finding(best, tuple(alts), _confidence(best, tuple(alts)))

    def _hypothesis(self, c: str, i: int, score: float) -> Hypothesis:
        profile = self.typed[i][0]
        explains = self._explained(c, profile)
        return Hypothesis(c, profile.fault_type if profile else None, round(score, 4), explains,
                          _evidence(explains, self.pairs))

    def _explained(self, c: str, profile: Profile | None) -> frozenset[Pair]:
        """Its own anomalies, and those behind it that its fault type makes likely (all of them, untyped)."""
        out = {(c, k) for k in self.anomalous.get(c, ())}
        for e in self.below[c]:
            if e == c:
                continue
            kind = self.graph.kind(e)
            out |= {(e, k) for k in self.anomalous[e]
                    if profile is None or self.profiles.explains(profile, kind, k, on_root=False)}
        return frozenset(out)

    def _likeliest(self) -> list[tuple[Profile | None, float]]:
        """Per candidate, the profile of its kind that fits best and its log-likelihood ratio."""
        out: list[tuple[Profile | None, float]] = [(None, 0.0)] * len(self.names)
        by_kind: dict[EntityKind, list[int]] = {}
        for i, c in enumerate(self.names):
            by_kind.setdefault(self.graph.kind(c), []).append(i)
        for kind, rows in by_kind.items():
            profiles = self.profiles.of_kind(kind)
            if not profiles:
                continue
            llr = self.profiles.llr_matrix(kind, [self.names[i] for i in rows], self._own, self._behind)
            best = llr.argmax(axis=1)
            for r, i in enumerate(rows):
                out[i] = (profiles[best[r]], float(llr[r, best[r]]))
        return out

    def _own(self, c: str) -> AbstractSet[str]:
        return self.anomalous.get(c, set())

    def _behind(self, c: str, kind: EntityKind) -> tuple[int, Counter]:
        return self.graph.reach_count(c, kind), self.counts.get(c, {}).get(kind, Counter())


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
        idle=np.zeros(n, bool), widths={e: graph.width(e) for e, _ in keys})


def _evidence(explains: frozenset[Pair], pairs: Mapping[Pair, Seen], limit: int = 8
              ) -> tuple[KpiEvidence, ...]:
    rows = [KpiEvidence(e, k, pairs[(e, k)].value, pairs[(e, k)].expected, pairs[(e, k)].score,
                        float(pairs[(e, k)].onset)) for e, k in explains if (e, k) in pairs]
    return tuple(sorted(rows, key=lambda r: (-r.magnitude, r.entity_id, r.kpi))[:limit])


def _confidence(best: Hypothesis, alts: tuple[Hypothesis, ...]) -> float:
    scores = np.array([best.score, *(a.score for a in alts)])
    p = np.exp(scores - scores.max())
    return round(float(p[0] / p.sum()), 3)
