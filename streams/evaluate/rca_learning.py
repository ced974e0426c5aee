"""Fitting the outside-data ranking on labelled case sets, and measuring it on held-out cases.

Each case becomes its candidates' features (:func:`detectors.rca.root_cause_features`)
and the row of its true root; :func:`cross_validate` scores every case with
weights fitted without it (contiguous blocks per set, every set weighing the
same), and :func:`fit_outside` fits the weights that ship, on all of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.table import Table

from detectors.fitting import Case, cross_validated_ranks, fit_model, pooled, ranks
from detectors.ranking import RankingModel
from detectors.rca import root_cause_features
from streams.evaluate.files import ExternalDataError
from streams.evaluate.rca import RcaCase

OUTSIDE_FEATURES = ("peak", "breadth", "share", "relative", "first", "status", "quiet", "blame")


def case_of(c: RcaCase) -> Case:
    """The features of one case's candidates and the row of its true root."""
    try:
        names, F, _, _ = root_cause_features(c.times, c.values, c.entities, kpis=c.kpis, missing=c.missing,
                                             edges=c.edges, anomaly_start=c.anomaly_start)
    except ValueError as exc:
        raise ExternalDataError(f"{c.folder}: {exc}") from None
    return Case(F, names.index(c.root_cause))


def cross_validate(sets: Sequence[Sequence[RcaCase]], folds: int = 5) -> list[np.ndarray]:
    """Held-out 1-based rank of the true root of every case of every set."""
    if folds < 2 or any(len(s) < folds for s in sets):
        raise ExternalDataError(f"--folds {folds}: every set needs at least that many cases, and ≥ 2 folds")
    return cross_validated_ranks([[case_of(c) for c in s] for s in sets], folds, features=OUTSIDE_FEATURES)


def leave_set_out(sets: Sequence[Sequence[RcaCase]]) -> list[np.ndarray]:
    """The rank of the true root of every case of every set, with weights fitted on the other sets only."""
    if len(sets) < 2:
        raise ExternalDataError("leaving a set out needs two or more sets (repeat --rca)")
    cases = [[case_of(c) for c in s] for s in sets]
    return [ranks(cases[i], fit_model(pooled(cases[:i] + cases[i + 1:]), features=OUTSIDE_FEATURES))
            for i in range(len(cases))]


def fit_outside(sets: Sequence[Sequence[RcaCase]]) -> RankingModel:
    """The weights fitted on every case of every set, each set weighing the same."""
    return fit_model(pooled([[case_of(c) for c in s] for s in sets]), features=OUTSIDE_FEATURES)


def naive_rank(c: RcaCase) -> int:
    """The naive reference's rank of the true root: entities by their largest |z| after the start, the z
    against the mean and standard deviation of the rows before it (+1e-6), no graph (ties: name order)."""
    given = c.anomaly_start is not None
    start = int(np.searchsorted(c.times, c.anomaly_start)) if given else len(c.times) // 2
    before = c.values[:start]
    z = np.abs(c.values[start:] - before.mean(axis=0)) / (before.std(axis=0) + 1e-6)
    best: dict[str, float] = {}
    for e, v in zip(c.entities, z.max(axis=0).tolist(), strict=True):
        best[e] = max(best.get(e, 0.0), v)
    names = sorted(set(c.entities) | {e for edge in c.edges for e in edge})
    ranked = sorted(names, key=lambda e: -best.get(e, 0.0))
    return ranked.index(c.root_cause) + 1


def rank_accuracy(ranks: np.ndarray) -> dict[str, float]:
    """Top-1, top-3 and Avg@5 from 1-based ranks.

    >>> rank_accuracy(np.array([1, 2, 6]))
    {'top1': 0.333, 'top3': 0.667, 'avg5': 0.6}
    """
    return {"top1": round(float((ranks <= 1).mean()), 3), "top3": round(float((ranks <= 3).mean()), 3),
            "avg5": round(float(np.mean([(ranks <= k).mean() for k in range(1, 6)])), 3)}


def held_out_report(sets: Sequence[Path], ranks: Sequence[np.ndarray], naive: Sequence[np.ndarray],
                    folds: int | None) -> dict:
    """The JSON form of held-out ranks (``folds`` None: left out set by set): accuracy per set, and the
    naive reference's."""
    per_set = [{"set": str(p), "cases": len(r), **rank_accuracy(r), "naive": rank_accuracy(n)}
               for p, r, n in zip(sets, ranks, naive, strict=True)]
    return {"folds": folds, "leave_set_out": folds is None, "sets": per_set}


def held_out_table(sets: Sequence[Path], ranks: Sequence[np.ndarray], naive: Sequence[np.ndarray],
                   folds: int | None) -> Table:
    how = (f"--folds {folds}", "weights fitted on the other folds of every set given") if folds else (
        "--leave-set-out", "weights fitted on the other sets only")
    t = Table(title=f"netloop evaluate --rca {how[0]}: held-out cases only",
              caption=f"{how[1]}; naive: largest |z|, no graph")
    for col in ("set", "cases", "top-1", "top-3", "Avg@5", "naive top-1", "naive top-3", "naive Avg@5"):
        t.add_column(col, justify="left" if col == "set" else "right")
    for p, r, n in zip(sets, ranks, naive, strict=True):
        a, b = rank_accuracy(r), rank_accuracy(n)
        t.add_row(p.name, str(len(r)), *(f"{a[k]:.3f}" for k in ("top1", "top3", "avg5")),
                  *(f"{b[k]:.3f}" for k in ("top1", "top3", "avg5")))
    return t


def write_outside(sets: Sequence[Sequence[RcaCase]], path: Path, folds: int = 5) -> RankingModel:
    """Fit the outside-data weights on every case, and write them with their held-out accuracy into
    the ranking file at ``path`` (its other models are kept)."""
    model = fit_outside(sets)
    held = cross_validate(sets, folds) if all(len(s) >= folds for s in sets) else None
    data = json.loads(path.read_text()) if path.exists() else {"models": {}}
    # the sets in the order given, by size only: package data names no data set
    data["models"]["outside"] = {
        "weights": dict(model.weights), "folds": folds,
        "sets": [{"cases": len(s), **({} if held is None else {"held_out": rank_accuracy(r)})}
                 for s, r in zip(sets, held or [None] * len(sets), strict=True)]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return model
