"""Fitting the ranking's weights on labelled cases, and scoring them on held-out ones.

A case is the feature matrix of its candidates (:func:`detectors.ranking.entity_features`)
and the row of the true root. The weights maximise the likelihood of the true
roots under the softmax of the scores (a conditional logit, as in discrete
choice), with a small L2 penalty and every weight ≥ 0: each feature is built
so that more of it points to the root, and the sign constraint keeps a set
where a feature happens to be uninformative from turning it around. Cases
carry weights, so that several data sets count equally however many cases
each has.

Cross-validation splits each set into contiguous blocks (cases in time order
repeat their neighbours: a random split would leak them into the training
folds), fits on the other blocks of every set and scores the held-out one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from detectors.ranking import FEATURES, RankingModel


@dataclass(frozen=True)
class Case:
    """The candidates' features (rows) of one labelled case, the true root's row, and a weight."""

    features: np.ndarray
    truth: int
    weight: float = 1.0


def fit_model(cases: Sequence[Case], *, l2: float = 1e-3, features: Sequence[str] = FEATURES
              ) -> RankingModel:
    """Weights of ``features`` (the others weigh 0) that make the true roots most probable.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cases = []
    >>> for _ in range(50):
    ...     F = rng.random((4, len(FEATURES))); F[0, 1] += 1.0   # breadth marks the root
    ...     cases.append(Case(F, 0))
    >>> m = fit_model(cases)
    >>> max(m.weights, key=m.weights.get)
    'breadth'
    """
    used = [FEATURES.index(f) for f in features]
    data = [(c.features[:, used], c.truth, c.weight) for c in cases if len(c.features) > 1]
    if not data:
        raise ValueError("no case with two or more candidates to fit on")
    total = sum(w for _, _, w in data)
    result = minimize(_loss, np.zeros(len(used)), args=(data, total, l2), jac=True, method="L-BFGS-B",
                      bounds=[(0.0, None)] * len(used))
    return RankingModel({f: round(float(w), 4) for f, w in zip(features, result.x, strict=True)})


def ranks(cases: Sequence[Case], model: RankingModel) -> np.ndarray:
    """1-based rank of the true root of each case under ``model`` (ties: the lower row first)."""
    w = model.vector()
    out = []
    for c in cases:
        s = c.features @ w
        better = (s > s[c.truth]).sum() + (s[: c.truth] == s[c.truth]).sum()
        out.append(int(better) + 1)
    return np.array(out)


def blocks(n: int, k: int) -> list[np.ndarray]:
    """``k`` contiguous blocks of ``range(n)``, as equal as can be.

    >>> [b.tolist() for b in blocks(5, 2)]
    [[0, 1], [2, 3, 4]]
    """
    return [np.arange(n)[i * n // k: (i + 1) * n // k] for i in range(k)]


def cross_validated_ranks(sets: Sequence[Sequence[Case]], k: int = 5, **fit: object) -> list[np.ndarray]:
    """Held-out rank of every case of every set: fold f of each set is scored by weights fitted on
    the other folds of all sets, each set weighing as much as any other."""
    out = [np.zeros(len(s), dtype=int) for s in sets]
    for f in range(k):
        train: list[Case] = []
        for s in sets:
            keep = [i for g, b in enumerate(blocks(len(s), k)) if g != f for i in b]
            train += _weighted([s[i] for i in keep])
        model = fit_model(train, **fit)  # type: ignore[arg-type]
        for s, r in zip(sets, out, strict=True):
            held = blocks(len(s), k)[f]
            r[held] = ranks([s[i] for i in held], model)
    return out


def pooled(sets: Sequence[Sequence[Case]]) -> list[Case]:
    """All cases of all sets, weighted so that each set weighs the same."""
    return [c for s in sets for c in _weighted(list(s))]


def _weighted(cases: list[Case]) -> list[Case]:
    return [Case(c.features, c.truth, c.weight / len(cases)) for c in cases] if cases else []


def _loss(w: np.ndarray, data: list[tuple[np.ndarray, int, float]], total: float, l2: float
          ) -> tuple[float, np.ndarray]:
    """Weighted mean negative log-likelihood of the true roots, plus the L2 penalty; and its gradient."""
    loss, grad = l2 * float(w @ w), 2.0 * l2 * w
    for F, y, weight in data:
        s = F @ w
        s -= s.max()
        p = np.exp(s)
        p /= p.sum()
        loss -= weight / total * np.log(p[y] + 1e-300)
        grad -= weight / total * (F[y] - p @ F)
    return loss, grad
