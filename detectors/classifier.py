"""Fault type from the symptom signature, learned (scikit-learn) from labelled episodes.

The features of a candidate root are what an operator looks at: its kind,
which of its own KPIs are anomalous, and the share of the cells behind it
showing each cell KPI. Episodes come from the simulator (``netloop episodes``
writes them; ``detectors/data/fault_episodes.json`` ships them), and the
model is fitted from them when first needed, in milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from functools import cache
from importlib import resources

import numpy as np
from sklearn.linear_model import LogisticRegression

from detectors.graph import TopologyGraph
from schemas import KPIS_BY_KIND, OBSERVABLE_KINDS, EntityKind, kpi_names

ROOT_KPIS: tuple[str, ...] = tuple(sorted({k.name for kpis in KPIS_BY_KIND.values() for k in kpis}))
CELL_KPIS: tuple[str, ...] = kpi_names(EntityKind.CELL)
EPISODES_FILE = "fault_episodes.json"


def signature_features(root: str, anomalous: Mapping[str, AbstractSet[str]],
                       graph: TopologyGraph) -> np.ndarray:
    """Root kind (one-hot), root KPIs anomalous (0/1), share of its cells with each cell KPI anomalous."""
    kind = graph.kind(root)
    own = anomalous.get(root, frozenset())
    cells = graph.cells_of(root)
    share = [sum(k in anomalous.get(c, ()) for c in cells) / len(cells) if cells else 0.0 for k in CELL_KPIS]
    return np.array([float(kind is k) for k in OBSERVABLE_KINDS] + [float(k in own) for k in ROOT_KPIS]
                    + share)


class FaultTypeClassifier:
    """Multinomial logistic regression over :func:`signature_features`, restricted to the root's kind.

    Examples
    --------
    >>> from schemas import TopologyEntity
    >>> g = TopologyGraph([TopologyEntity(entity_id="cell-1", kind=EntityKind.CELL)])
    >>> outage = {"cell-1": {"prb_utilization_ratio", "throughput_mbps", "active_users", "cqi"}}
    >>> radio = {"cell-1": {"cqi", "bler_ratio", "throughput_mbps"}}
    >>> X = np.stack([signature_features("cell-1", a, g) for a in (outage, radio)] * 5)
    >>> clf = FaultTypeClassifier().fit(X, ["cell_outage", "interference"] * 5)
    >>> clf.classify("cell-1", {"cell-1": {"cqi", "bler_ratio"}}, g)[0]
    'interference'
    """

    def __init__(self, *, C: float = 10.0, seed: int = 0) -> None:
        self.C, self.seed = C, seed

    def fit(self, X: np.ndarray, y: list[str]) -> FaultTypeClassifier:
        self._model = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed).fit(X, y)
        kinds = np.asarray(X)[:, : len(OBSERVABLE_KINDS)].argmax(axis=1)
        self._types = {k: frozenset(t for t, i in zip(y, kinds, strict=True) if i == n)
                       for n, k in enumerate(OBSERVABLE_KINDS)}
        return self

    def fault_types(self, kind: EntityKind) -> frozenset[str]:
        """The fault types the training episodes showed on roots of ``kind``."""
        return self._types.get(kind, frozenset())

    def classify(self, root: str, anomalous: Mapping[str, AbstractSet[str]],
                 graph: TopologyGraph) -> tuple[str, float]:
        """The most probable fault type seen on roots of this kind, and its probability among those."""
        allowed = self.fault_types(graph.kind(root))
        proba = self._model.predict_proba(signature_features(root, anomalous, graph)[None, :])[0]
        classes = self._model.classes_
        keep = np.array([c in allowed for c in classes])
        if not keep.any():
            return (min(allowed) if allowed else "unknown"), 0.0
        p = np.where(keep, proba, 0.0)
        best = int(p.argmax())
        return str(classes[best]), float(p[best] / p.sum())


@cache
def shipped_episodes() -> dict:
    """The episodes shipped as package data (read once per process)."""
    return json.loads((resources.files("detectors") / "data" / EPISODES_FILE).read_text())


@cache
def shipped_classifier() -> FaultTypeClassifier:
    """The classifier fitted on the shipped episodes (once per process)."""
    data = shipped_episodes()
    return FaultTypeClassifier().fit(np.array(data["features"]), data["labels"])
