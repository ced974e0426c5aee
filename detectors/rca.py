"""Root-cause ranking for generic cases: metrics of named entities, optionally a dependency graph.

The evidence of every column is its change after the incident's start
against the rows before it (:func:`detectors.evidence.metric_evidence`);
candidates are every entity of the metrics and of the graph, ranked by
:func:`detectors.ranking.rank` — the ranking the loop's localizer uses —
with the weights fitted on the shared real cases (``netloop episodes
--rca``; ``detectors/data/ranking.json``). Without an anomaly start, the
start is :func:`change_point`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detectors.changepoint import change_point
from detectors.evidence import metric_evidence
from detectors.learned import shipped_ranking
from detectors.ranking import FEATURES, KpiEvidence, RankingModel, edge_parents, entity_features, order

Edge = tuple[str, str]  # (upstream, downstream)


@dataclass(frozen=True)
class RootCauseRanking:
    """Candidates best first, with the evidence behind the order.

    ``start`` is the index of the first row of the anomalous period (given or
    detected); ``scores`` the model's score per entity; ``onsets`` the first
    row after it where an entity was anomalous (absent if never); ``blame``
    the share of its dependents' anomaly put on each entity (0 without a
    graph); ``evidence`` the anomalous KPIs of the first five candidates, largest first.
    """

    ranked: tuple[str, ...]
    start: int
    scores: dict[str, float]
    onsets: dict[str, int]
    blame: dict[str, float]
    evidence: dict[str, tuple[KpiEvidence, ...]]


def root_cause_features(times: np.ndarray, values: np.ndarray, entities: Sequence[str], *,
                        kpis: Sequence[str] | None = None, missing: np.ndarray | None = None,
                        edges: Sequence[Edge] = (), anomaly_start: float | None = None):
    """The candidates (sorted), their :data:`FEATURES` rows, the start row and the column evidence."""
    values = np.asarray(values, dtype=float)
    start = _start_index(np.asarray(times, dtype=float), values, anomaly_start)
    kpis = tuple(kpis) if kpis is not None else tuple(str(j) for j in range(values.shape[1]))
    ev = metric_evidence(values, entities, kpis, start, missing=missing)
    names = sorted(set(entities) | {e for edge in edges for e in edge})
    parents = edge_parents(edges) if edges else None
    return names, entity_features(ev, names, parents), start, ev


def rank_root_causes(times: np.ndarray, values: np.ndarray, entities: Sequence[str], *,
                     kpis: Sequence[str] | None = None, missing: np.ndarray | None = None,
                     edges: Sequence[Edge] = (), anomaly_start: float | None = None,
                     model: RankingModel | None = None) -> RootCauseRanking:
    """Rank the entities of a T×M block of metrics (column j is KPI ``kpis[j]`` of ``entities[j]``).

    Entities that appear only in ``edges`` are candidates too, with no
    evidence of their own; they can still take the blame for their
    dependents. ``model`` defaults to the weights fitted on real cases.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(10.0, 1.0, size=(80, 3))
    >>> X[50:, 0] += 6.0; X[50:, 1] += 30.0   # db degrades; api, behind it, degrades more
    >>> names = ["db", "api", "web"]
    >>> rank_root_causes(np.arange(80.0), X, names, anomaly_start=50).ranked[0]
    'api'
    """
    names, F, start, ev = root_cause_features(times, values, entities, kpis=kpis, missing=missing,
                                              edges=edges, anomaly_start=anomaly_start)
    model = model or shipped_ranking("outside")
    r = order(ev, names, F, model)
    onsets: dict[str, int] = {}
    for e, o in zip(ev.entities, ev.onset.tolist(), strict=True):
        if np.isfinite(o):
            onsets[e] = min(onsets.get(e, start + int(o)), start + int(o))
    blame = F[:, FEATURES.index("blame")]
    evidence = {e: found for e in r.ranked[:5] if (found := r.evidence_of(e))}
    return RootCauseRanking(r.ranked, start, dict(zip(r.ranked, r.scores.tolist(), strict=True)), onsets,
                            dict(zip(names, blame.tolist(), strict=True)), evidence)


def top_k_accuracy(rankings: Sequence[Sequence[str]], truths: Sequence[str], k: int) -> float:
    """Share of cases whose true root is among the first ``k`` candidates.

    >>> top_k_accuracy([["a", "b"], ["b", "a"]], ["a", "a"], 1)
    0.5
    """
    return sum(t in r[:k] for r, t in zip(rankings, truths, strict=True)) / len(truths)


def avg_at_k(rankings: Sequence[Sequence[str]], truths: Sequence[str], k: int = 5) -> float:
    """Avg@k: the mean of top-1 … top-k accuracy (rewards a true root ranked high, not just present).

    >>> avg_at_k([["b", "a"]], ["a"], 5)
    0.8
    """
    return sum(top_k_accuracy(rankings, truths, j) for j in range(1, k + 1)) / k


def _start_index(times: np.ndarray, values: np.ndarray, anomaly_start: float | None) -> int:
    if anomaly_start is None:
        return change_point(values)
    start = int(np.searchsorted(times, anomaly_start, side="left"))
    if start < 2 or start >= len(times):
        raise ValueError(f"anomaly_start {anomaly_start:g} leaves {start} rows before it and "
                         f"{len(times) - start} after (need ≥ 2 before and ≥ 1 after)")
    return start
