"""The one root-cause ranking: a few kinds of evidence per candidate entity, weighed by a learned model.

Both the loop's localizer and ``netloop evaluate --rca`` rank with
:func:`rank`; they differ only in where the :class:`ColumnEvidence` comes
from (anomaly events, or metrics around an incident's start) and in the
model's weights, each fitted on labelled cases of its own kind
(:mod:`detectors.fitting`). Features of a candidate, each ≥ 0 and larger
when the candidate looks more like the root:

``peak``
    log(1 + the largest magnitude among its KPIs);
``breadth``
    the mean of log(1 + magnitude) over all the KPIs it reports;
``share``
    the share of its KPIs that were anomalous;
``relative``
    log(1 + the largest change relative to the KPI's level);
``first``
    1 / (1 + steps from the earliest onset of any candidate to its own), 0 if it was never anomalous:
    a fault shows on its root first;
``status``
    one of its KPIs changed status (constant before, moved after) or stopped reporting;
``quiet``
    its share of idle KPIs, times exp(-5 × the largest ``share`` of any candidate): when nothing
    anywhere is clearly anomalous, the fault is most likely where it could not show;
``blame``
    the anomaly of its direct dependents, shared among their direct upstream entities in proportion
    to their own ``breadth`` (the graph as evidence, not as a rule: on a two-way graph both ends of a
    link share the blame of the other's neighbours; without a graph it is 0);
``profile``
    how well the anomalies on it and behind it match a fault type's learned symptom profile
    (:mod:`detectors.profiles`; 0 when the model has none).

The score is the weights' dot product with the features; the model's
probability of each candidate is the softmax of the scores.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from detectors.evidence import ColumnEvidence

FEATURES: tuple[str, ...] = ("peak", "breadth", "share", "relative", "first", "status", "quiet", "blame",
                             "profile")
_QUIET_DECAY = 5.0
_UNSEEN_SHARE = 0.1

Parents = Callable[[str], Collection[str]]


@dataclass(frozen=True)
class RankingModel:
    """Non-negative weights of :data:`FEATURES` (a missing name weighs 0)."""

    weights: Mapping[str, float]

    def vector(self) -> np.ndarray:
        return np.array([float(self.weights.get(f, 0.0)) for f in FEATURES])


@dataclass(frozen=True)
class KpiEvidence:
    """One KPI behind a candidate: what it reached, what was normal, how far and since when."""

    entity_id: str
    kpi: str
    value: float
    baseline: float
    magnitude: float
    onset: float


@dataclass(frozen=True)
class Ranking:
    """Candidates best first, their scores and features (rows follow ``ranked``), and the column
    evidence they were ranked on (:meth:`evidence_of` a candidate)."""

    ranked: tuple[str, ...]
    scores: np.ndarray
    features: np.ndarray
    columns: ColumnEvidence

    def evidence_of(self, entity: str) -> tuple[KpiEvidence, ...]:
        """The anomalous (or status-changed) KPIs of ``entity``, largest first."""
        ev = self.columns
        rows = [KpiEvidence(entity, ev.kpis[j], float(ev.value[j]), float(ev.baseline[j]),
                            float(ev.magnitude[j]), float(ev.onset[j]))
                for j in np.flatnonzero(ev.hot | ev.status) if ev.entities[j] == entity]
        return tuple(sorted(rows, key=lambda k: -k.magnitude))

    def probabilities(self) -> np.ndarray:
        """The softmax of the scores: the model's probability that each candidate is the root."""
        if not len(self.scores):
            return self.scores
        e = np.exp(self.scores - self.scores.max())
        return e / e.sum()


def edge_parents(edges: Iterable[tuple[str, str]]) -> Parents:
    """Direct upstream entities from ``(upstream, downstream)`` edges (self-loops dropped).

    >>> sorted(edge_parents([("db", "api"), ("cache", "api"), ("api", "api")])("api"))
    ['cache', 'db']
    """
    up: dict[str, set[str]] = {}
    for a, b in edges:
        if a != b:
            up.setdefault(b, set()).add(a)
    return lambda e: up.get(e, set())


def entity_features(evidence: ColumnEvidence, candidates: Sequence[str], parents: Parents | None = None,
                    profile: np.ndarray | None = None) -> np.ndarray:
    """The len(candidates) × len(FEATURES) matrix; entities with evidence but not candidates still blame.

    Examples
    --------
    >>> from detectors.evidence import metric_evidence
    >>> X = np.random.default_rng(1).normal(10.0, 1.0, size=(40, 3))
    >>> X[30:, 1] += 20.0
    >>> ev = metric_evidence(X, ["a", "b", "b"], ["x", "x", "y"], 30)
    >>> F = entity_features(ev, ["a", "b"], edge_parents([("a", "b")]))
    >>> dict(zip(FEATURES, F[0].round(2)))["blame"] > 0, F[1, FEATURES.index("share")]
    (np.True_, np.float64(0.5))
    """
    names = list(dict.fromkeys([*candidates, *evidence.entities]))
    index = {e: i for i, e in enumerate(names)}
    col = np.array([index[e] for e in evidence.entities], dtype=int)
    n = len(names)
    seen = np.bincount(col, minlength=n)
    width = np.array([evidence.width(e, int(s)) for e, s in zip(names, seen, strict=True)], dtype=float)
    log_mag = np.log1p(evidence.magnitude)
    F = np.zeros((n, len(FEATURES)))
    F[:, 0] = _max_at(col, log_mag, n)
    F[:, 1] = np.bincount(col, weights=log_mag, minlength=n) / width
    F[:, 2] = np.bincount(col, weights=evidence.hot.astype(float), minlength=n) / width
    F[:, 3] = _max_at(col, np.log1p(evidence.relative), n)
    F[:, 4] = _earliness(col, evidence.onset, n)
    F[:, 5] = _max_at(col, evidence.status.astype(float), n)
    idle = np.bincount(col, weights=evidence.idle.astype(float), minlength=n) / width
    F[:, 6] = idle * np.exp(-_QUIET_DECAY * F[:, 2].max(initial=0.0))
    if parents is not None:
        F[:, 7] = _blame(names, index, F[:, 1], parents)
    if profile is not None:
        F[: len(candidates), 8] = profile
    return F[: len(candidates)]


def rank(evidence: ColumnEvidence, candidates: Sequence[str], model: RankingModel, *,
         parents: Parents | None = None, profile: np.ndarray | None = None) -> Ranking:
    """Rank ``candidates`` by the model's score (ties: the order given)."""
    return order(evidence, candidates, entity_features(evidence, candidates, parents, profile), model)


def order(evidence: ColumnEvidence, candidates: Sequence[str], F: np.ndarray, model: RankingModel
          ) -> Ranking:
    """:func:`rank` from features already computed (rows follow ``candidates``)."""
    scores = F @ model.vector()
    order = np.lexsort((np.arange(len(candidates)), -scores))
    return Ranking(tuple(candidates[i] for i in order), scores[order], F[order], evidence)


def _max_at(col: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    np.maximum.at(out, col, v)
    return out


def _earliness(col: np.ndarray, onset: np.ndarray, n: int) -> np.ndarray:
    first = np.full(n, np.inf)
    np.minimum.at(first, col, onset)
    finite = np.isfinite(first)
    if not finite.any():
        return np.zeros(n)
    out = np.zeros(n)
    out[finite] = 1.0 / (1.0 + first[finite] - first[finite].min())
    return out


def _blame(names: Sequence[str], index: Mapping[str, int], breadth: np.ndarray, parents: Parents
           ) -> np.ndarray:
    """Each anomalous entity's breadth, shared among its direct upstream entities by their breadth
    (plus a little, so that an upstream entity nothing is known of can still take the blame)."""
    out = np.zeros(len(names))
    for d in np.flatnonzero(breadth > 0):
        ups = [index[u] for u in parents(names[d]) if u in index]
        if ups:
            w = breadth[ups] + _UNSEEN_SHARE
            out[ups] += breadth[d] * w / w.sum()
    return out
