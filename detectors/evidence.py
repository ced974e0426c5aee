"""What moved, by how much and since when: evidence per (entity, KPI), from metrics or from anomaly events.

:class:`ColumnEvidence` is what the ranking (:mod:`detectors.ranking`) reads,
whatever the source. From a block of metrics (:func:`metric_evidence`), each
column is compared with the rows before the incident's start:

- the baseline is the median before the start, the spread 1.4826 × the MAD;
- the scale is the largest of that spread, the column's resolution (the
  smallest step between its distinct values before the start, so a counter
  that moved by one is one step, not a million sigmas) and ``floor`` × the
  level of the column's *family* (the same KPI name up to the numbers in it:
  ``Gi2-rx-pps`` and ``Gi5-rx-pps`` are one family) and of its own level
  (or, when the whole family sat at 0, of the largest value the column
  reached). A column that was constant cannot score more than about
  1 / ``floor`` times its change over its family's level;
- the magnitude is the largest |deviation| / scale after the start that
  lasted two rows (as the loop asks an anomaly to persist for two ticks), the
  onset the first row after the start where it reached ``hot``;
- a column that was constant and then moved, or that stopped reporting,
  changed *status* (an interface going down, a node falling silent);
- a column whose level is below ``floor`` × its family's is *idle*: a fault
  there changes nothing that can be seen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

_MAD_TO_SIGMA = 1.4826
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class ColumnEvidence:
    """Per column j (one KPI of ``entities[j]``): how far it moved after the start, and when.

    ``magnitude`` ≥ 0 (a robust z for metrics, the detector's score for events);
    ``onset`` the first step after the start where the column was anomalous
    (``inf`` if never), ``hot`` whether it ever was; ``value`` and ``baseline``
    what it reached and what was normal; ``relative`` the change over the
    column's level; ``status`` and ``idle`` as in the module docstring.
    ``widths`` counts the columns each entity reports (an entity's share of
    anomalous KPIs is over those); by default, its columns here.
    """

    entities: tuple[str, ...]
    kpis: tuple[str, ...]
    magnitude: np.ndarray
    onset: np.ndarray
    hot: np.ndarray
    value: np.ndarray
    baseline: np.ndarray
    relative: np.ndarray
    status: np.ndarray
    idle: np.ndarray
    widths: Mapping[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entities)

    def width(self, entity: str, seen: int) -> int:
        return max(self.widths.get(entity, seen), seen, 1)


def family(kpi: str) -> str:
    """The KPI's name with every number replaced by ``#``: instances of one metric share it.

    >>> family("Gi5-rx-pps"), family("PodLatencyP99(s)"), family("cpu")
    ('Gi#-rx-pps', 'PodLatencyP#(s)', 'cpu')
    """
    return _DIGITS.sub("#", kpi)


def metric_evidence(values: np.ndarray, entities: Sequence[str], kpis: Sequence[str], start: int, *,
                    missing: np.ndarray | None = None, floor: float = 0.01,
                    hot: float = 5.0) -> ColumnEvidence:
    """Evidence of every column of a T×M block (gaps filled) against its rows before ``start``.

    ``missing`` (T×M, optional) marks the cells that had no value: a column
    present before the start and missing after it stopped reporting.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(100.0, 1.0, size=(30, 3))
    >>> X[:, 2] = 0.0                 # an idle copy of the same metric
    >>> X[20:, 0] -= 40.0; X[22:, 2] = 1.0
    >>> ev = metric_evidence(X, ["a", "b", "c"], ["p1", "p2", "p3"], 20)
    >>> ev.magnitude.round(0).tolist(), ev.onset.tolist(), ev.idle.tolist()
    ([25.0, 1.0, 1.0], [0.0, inf, inf], [False, False, True])
    """
    X = np.asarray(values, dtype=float)
    pre, post = X[:start], X[start:]
    baseline = np.median(pre, axis=0)
    spread = _MAD_TO_SIGMA * np.median(np.abs(pre - baseline), axis=0)
    resolution = _resolution(pre)
    level = np.abs(baseline)
    typical = np.maximum(_family_level(level, kpis), level)
    reach = np.where(typical > 0, typical, np.abs(X).max(axis=0))  # a family all at 0: what it reached
    scale = np.maximum.reduce([spread, resolution, floor * reach,
                               np.full(len(level), 1e-12)])
    dev = _lasting(post - baseline)
    z = np.abs(dev) / scale
    cols = np.arange(X.shape[1])
    peak = z.argmax(axis=0)
    is_hot = z >= hot
    onset = np.where(is_hot.any(axis=0), is_hot.argmax(axis=0), np.inf)
    status = (spread == 0) & (resolution == 0) & (np.abs(dev).max(axis=0) > 0)
    if missing is not None:
        status |= _stopped(np.asarray(missing, dtype=bool), start)
    return ColumnEvidence(
        entities=tuple(entities), kpis=tuple(kpis), magnitude=z[peak, cols], onset=onset,
        hot=is_hot.any(axis=0), value=post[peak, cols], baseline=baseline,
        relative=np.abs(dev[peak, cols]) / (typical + scale), status=status,
        idle=(typical > 0) & (level < floor * typical))


def _lasting(dev: np.ndarray) -> np.ndarray:
    """Each row's deviation as far as it lasted into a neighbouring row: the smaller of the two in size
    (the last row pairs with the one before it). A one-row spike counts for no more than its neighbours;
    a single row is taken as it is.

    >>> _lasting(np.array([[0.0], [9.0], [0.0], [5.0], [6.0]])).ravel().tolist()
    [0.0, 0.0, 0.0, 5.0, 5.0]
    """
    if len(dev) < 2:
        return dev
    a, b = dev[:-1], dev[1:]
    both = np.where(np.abs(a) <= np.abs(b), a, b)
    return np.vstack([both, both[-1:]])


def _resolution(pre: np.ndarray) -> np.ndarray:
    """Per column, the smallest step between distinct values (0 if constant); float noise ignored."""
    s = np.sort(pre, axis=0)
    steps = np.diff(s, axis=0)
    tol = 1e-9 * np.maximum(1.0, np.abs(s).max(axis=0, initial=0.0))
    steps = np.where(steps > tol, steps, np.inf)
    smallest = steps.min(axis=0, initial=np.inf)
    return np.where(np.isfinite(smallest), smallest, 0.0)


def _family_level(level: np.ndarray, kpis: Sequence[str]) -> np.ndarray:
    """The median level of the columns of each column's family."""
    groups: dict[str, list[int]] = {}
    for j, k in enumerate(kpis):
        groups.setdefault(family(k), []).append(j)
    out = np.empty_like(level)
    for js in groups.values():
        out[js] = np.median(level[js])
    return out


def _stopped(missing: np.ndarray, start: int) -> np.ndarray:
    """Columns that reported in most rows before ``start`` and missed one after it."""
    before = (~missing[:start]).mean(axis=0) > 0.5 if start else np.zeros(missing.shape[1], bool)
    return before & missing[start:].any(axis=0)
