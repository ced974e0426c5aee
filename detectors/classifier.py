"""Fault type from the symptom signature, learned (scikit-learn) from labelled episodes.

The features of a candidate root are what an operator looks at: its kind,
which of its own KPIs are anomalous, the share of the cells behind it
showing each cell KPI, whether it and its cells went dark (carry next to
nothing: a link without light, a cell that is down), and the families of
the alarms standing on it (hard failures announce themselves; degradations
do not). Episodes come from the simulator
(``netloop episodes`` writes them; ``detectors/data/fault_episodes.json``
ships them), and the model is fitted from them when first needed, in
milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from functools import cache
from importlib import resources

import numpy as np
from sklearn.linear_model import LogisticRegression

from detectors.alarms import CAUSES
from detectors.graph import TopologyGraph
from detectors.localizer import Seen
from schemas import KPIS_BY_KIND, OBSERVABLE_KINDS, EntityKind, kpi_names

ROOT_KPIS: tuple[str, ...] = tuple(sorted({k.name for kpis in KPIS_BY_KIND.values() for k in kpis}))
CELL_KPIS: tuple[str, ...] = kpi_names(EntityKind.CELL)
EPISODES_FILE = "fault_episodes.json"
ANNOUNCED, UNANNOUNCED = 0.3, 0.02  # an alarm family announces a type: in this share of its episodes, at most
# that share of all others'
DARK = 0.05  # an anomalous KPI at or below this share of its baseline: the entity carries next to nothing
LOST = frozenset({"packet_loss_ratio", "bler_ratio", "drop_rate_ratio", "error_rate_ratio"})
"""KPIs that count a share lost or failed: at half or more, what the entity carries is as good as gone."""


def gone_dark(observed: Mapping[str, Mapping[str, Seen]]) -> set[str]:
    """Entities with an anomalous KPI at :data:`DARK` or less of its (positive) baseline, or losing or
    failing half or more of what they carry (:data:`LOST`). A detector that has seen counters reset
    to 0 may not flag a link's utilisation falling to 0; its loss at 100% it does flag.

    >>> sorted(gone_dark({"link-1": {"utilization_ratio": Seen(3, 9.0, 0.0, 0.5)},
    ...                   "link-2": {"latency_ms": Seen(3, 9.0, 30.0, 3.0)},
    ...                   "link-3": {"packet_loss_ratio": Seen(3, 9.0, 1.0, 0.0005)}}))
    ['link-1', 'link-3']
    """
    return {e for e, kpis in observed.items()
            if any((s.expected > 0 and s.value <= DARK * s.expected) or (k in LOST and s.value >= 0.5)
                   for k, s in kpis.items())}


def signature_features(root: str, anomalous: Mapping[str, AbstractSet[str]], graph: TopologyGraph,
                       alarms: Mapping[str, AbstractSet[str]] | None = None,
                       dark: AbstractSet[str] = frozenset()) -> np.ndarray:
    """Root kind (one-hot), root KPIs anomalous (0/1), share of its cells with each cell KPI anomalous,
    root gone dark (0/1) and the share of its cells gone dark (``dark``: :func:`gone_dark`), the alarm
    families standing on the root (0/1 each, :data:`detectors.alarms.CAUSES`)."""
    kind = graph.kind(root)
    own = anomalous.get(root, frozenset())
    cells = graph.cells_of(root)
    share = [sum(k in anomalous.get(c, ()) for c in cells) / len(cells) if cells else 0.0 for k in CELL_KPIS]
    dark_cells = sum(c in dark for c in cells) / len(cells) if cells else 0.0
    standing = (alarms or {}).get(root, frozenset())
    return np.array([float(kind is k) for k in OBSERVABLE_KINDS] + [float(k in own) for k in ROOT_KPIS]
                    + share + [float(root in dark), dark_cells] + [float(c in standing) for c in CAUSES])


class FaultTypeClassifier:
    """Multinomial logistic regression over :func:`signature_features`, one per root kind: a cell's
    fault types are told apart on cells' episodes only, an NF's on that NF's.

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
        X, labels = np.asarray(X), np.asarray(y)
        kinds = X[:, : len(OBSERVABLE_KINDS)].argmax(axis=1)
        self._types: dict[EntityKind, tuple[str, ...]] = {}
        self._models: dict[EntityKind, LogisticRegression] = {}
        for n, kind in enumerate(OBSERVABLE_KINDS):
            rows = kinds == n
            self._types[kind] = tuple(sorted({str(t) for t in labels[rows]}))
            if len(self._types[kind]) > 1:
                self._models[kind] = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed).fit(
                    X[rows], labels[rows])
        self._announces = _announcing(X[:, -len(CAUSES):] > 0, labels)
        return self

    def fault_types(self, kind: EntityKind) -> frozenset[str]:
        """The fault types the training episodes showed on roots of ``kind``."""
        return frozenset(self._types.get(kind, ()))

    @property
    def types(self) -> frozenset[str]:
        """Every fault type the training episodes showed."""
        return frozenset(t for types in self._types.values() for t in types)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The likeliest type of each row's root kind (no alarms or policies considered)."""
        out = []
        for x in np.asarray(X):
            classes, p = self._proba(OBSERVABLE_KINDS[int(x[: len(OBSERVABLE_KINDS)].argmax())], x)
            out.append(classes[int(p.argmax())] if len(classes) else "unknown")
        return np.array(out)

    def classify(self, root: str, anomalous: Mapping[str, AbstractSet[str]], graph: TopologyGraph,
                 alarms: Mapping[str, AbstractSet[str]] | None = None, dark: AbstractSet[str] = frozenset(),
                 unremedied: AbstractSet[str] = frozenset()) -> tuple[str | None, float]:
        """The most probable fault type seen on roots of this kind, and its probability among those
        (None for a kind the training episodes never showed).

        Some alarm families announce one type (the training episodes learn which: failed hardware
        raises an equipment alarm, nothing else does). A type in ``unremedied`` (no policy fixes it:
        naming it hands the fault to a person) is named when, and only when, its announcement stands
        on the root: naming a fixable fault unfixable would leave it unfixed. A root with no anomaly
        of its own yet is typed by its announcement alone, if one stands.
        """
        kind = graph.kind(root)
        allowed = self.fault_types(kind)
        if not allowed:  # a kind no episode showed (one a deployment declared): the model cannot type it
            return None, 0.0
        standing = (alarms or {}).get(root, frozenset())
        announced = {self._announces[c] for c in standing if c in self._announces} & allowed
        if len(announced) == 1 and (announced & unremedied or not anomalous.get(root)):
            return announced.pop(), 1.0
        classes, proba = self._proba(kind, signature_features(root, anomalous, graph, alarms, dark))
        keep = np.array([c not in unremedied or c in announced for c in classes], dtype=bool)
        if not keep.any():
            return (min(allowed) if allowed else "unknown"), 0.0
        p = np.where(keep, proba, 0.0)
        best = int(p.argmax())
        return str(classes[best]), float(p[best] / p.sum())

    def _proba(self, kind: EntityKind | None, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The kind's classes and their probabilities for ``x``."""
        model = self._models.get(kind) if kind is not None else None
        if model is None:
            types = self._types.get(kind, ()) if kind is not None else ()
            return np.array(types), np.ones(len(types))
        return model.classes_, model.predict_proba(x[None, :])[0]


def _announcing(raised: np.ndarray, y: np.ndarray) -> dict[str, str]:
    """Alarm family → the one type it announces: standing in :data:`ANNOUNCED` or more of that type's
    episodes and in at most :data:`UNANNOUNCED` of all the others'."""
    out = {}
    for j, cause in enumerate(CAUSES):
        for t in np.unique(y):
            mine, rest = raised[y == t, j], raised[y != t, j]
            if mine.mean() >= ANNOUNCED and (rest.mean() if len(rest) else 0.0) <= UNANNOUNCED:
                out[cause] = str(t)
    return out


@cache
def shipped_episodes() -> dict:
    """The episodes shipped as package data (read once per process)."""
    return json.loads((resources.files("detectors") / "data" / EPISODES_FILE).read_text())


@cache
def shipped_classifier() -> FaultTypeClassifier:
    """The classifier fitted on the shipped episodes (once per process)."""
    data = shipped_episodes()
    return FaultTypeClassifier().fit(np.array(data["features"]), data["labels"])
