"""Root-cause ranking for generic cases: metrics of named entities, optionally a dependency graph.

Metrics only: each column's deviation after the incident's start is a robust
z-score against the time before it (median and MAD); an entity scores its
largest column deviation and the earliest time one of its columns left the
normal band. Entities rank by score, earlier onset breaking ties.

With a graph (edges upstream → downstream, a fault flowing downstream), blame
also flows upstream: a personalized PageRank walks from anomalous entities
to their upstream entities, weighted by how anomalous those are, and restarts
in proportion to the anomaly scores. An anomalous entity none of whose direct
upstream entities is anomalous is where the fault entered the graph; those
rank first, by blame, then the other anomalous entities, then the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detectors.changepoint import change_point

_MAD_TO_SIGMA = 1.4826
Edge = tuple[str, str]  # (upstream, downstream)


@dataclass(frozen=True)
class RootCauseRanking:
    """Candidates best first, with the evidence behind the order.

    ``start`` is the index of the first row of the anomalous period (given or
    detected); ``scores`` the largest robust z per entity after it; ``onsets``
    the first row after it where an entity was anomalous (absent if never);
    ``blame`` the PageRank share per entity (empty without a graph).
    """

    ranked: tuple[str, ...]
    start: int
    scores: dict[str, float]
    onsets: dict[str, int]
    blame: dict[str, float]


def rank_root_causes(times: np.ndarray, values: np.ndarray, entities: Sequence[str], *,
                     edges: Sequence[Edge] = (), anomaly_start: float | None = None,
                     z_anomalous: float = 5.0) -> RootCauseRanking:
    """Rank the entities of a T×M block of metrics (column j belongs to ``entities[j]``).

    Without ``anomaly_start`` the start is :func:`change_point`'s. Entities that
    appear only in ``edges`` are candidates too, with a score of zero.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(10.0, 1.0, size=(80, 3))
    >>> X[50:, 0] += 6.0; X[50:, 1] += 30.0   # db degrades; api, behind it, degrades more
    >>> names = ["db", "api", "web"]
    >>> rank_root_causes(np.arange(80.0), X, names, anomaly_start=50).ranked[0]
    'api'
    >>> rank_root_causes(np.arange(80.0), X, names, edges=[("db", "api"), ("api", "web")]).ranked[0]
    'db'
    """
    values = np.asarray(values, dtype=float)
    start = _start_index(np.asarray(times, dtype=float), values, anomaly_start)
    z = _deviations(values, start)
    scores, onsets = _per_entity(z, entities, z_anomalous, start)
    names = sorted(set(entities) | {e for edge in edges for e in edge})
    for e in names:
        scores.setdefault(e, 0.0)
    if not edges:
        ranked = sorted(names, key=lambda e: (-scores[e], onsets.get(e, len(values)), e))
        return RootCauseRanking(tuple(ranked), start, scores, onsets, {})
    blame = _blame(names, edges, scores, z_anomalous)
    entry = _entry_points(names, edges, scores, z_anomalous)
    ranked = sorted(names, key=lambda e: (e not in entry, scores[e] < z_anomalous, -blame[e],
                                          onsets.get(e, len(values)), e))
    return RootCauseRanking(tuple(ranked), start, scores, onsets, blame)


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


def _deviations(values: np.ndarray, start: int) -> np.ndarray:
    """Robust z of every row from ``start`` on, against the rows before it (after-rows × M)."""
    before = values[:start]
    med = np.median(before, axis=0)
    mad = np.median(np.abs(before - med), axis=0)
    sigma = np.maximum(_MAD_TO_SIGMA * mad, np.maximum(1e-3 * np.abs(med), 1e-9))
    return np.abs(values[start:] - med) / sigma


def _per_entity(z: np.ndarray, entities: Sequence[str], z_anomalous: float,
                start: int) -> tuple[dict[str, float], dict[str, int]]:
    col_score = z.max(axis=0)
    hot = z >= z_anomalous
    col_onset = np.where(hot.any(axis=0), hot.argmax(axis=0) + start, -1)
    scores: dict[str, float] = {}
    onsets: dict[str, int] = {}
    for e, s, o in zip(entities, col_score.tolist(), col_onset.tolist(), strict=True):
        scores[e] = max(scores.get(e, 0.0), s)
        if o >= 0:
            onsets[e] = min(onsets.get(e, o), o)
    return scores, onsets


def _entry_points(names: Sequence[str], edges: Sequence[Edge], scores: dict[str, float],
                  z_anomalous: float) -> set[str]:
    """Anomalous entities with no anomalous direct upstream entity."""
    hot = {e for e in names if scores[e] >= z_anomalous}
    fed = {down for up, down in edges if up in hot and up != down}
    return hot - fed


def _blame(names: Sequence[str], edges: Sequence[Edge], scores: dict[str, float],
           z_anomalous: float, damping: float = 0.85, iterations: int = 100) -> dict[str, float]:
    """Personalized PageRank over downstream → upstream steps (and staying put), on anomaly weights."""
    index = {e: i for i, e in enumerate(names)}
    weight = np.array([scores[e] for e in names]) + 1.0  # an unremarkable entity can still be blamed
    step = np.diag(weight)
    for up, down in edges:
        step[index[down], index[up]] = weight[index[up]]
    step /= step.sum(axis=1, keepdims=True)
    hot = np.array([scores[e] >= z_anomalous for e in names])
    restart = np.where(hot, weight, 0.0) if hot.any() else weight
    restart = restart / restart.sum()
    rank = restart.copy()
    for _ in range(iterations):
        rank = (1.0 - damping) * restart + damping * rank @ step
    return dict(zip(names, rank.tolist(), strict=True))
