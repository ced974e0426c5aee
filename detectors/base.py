"""The detector protocol: batch first, over an N×K matrix of series values at one time step."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Detector(Protocol):
    """An online detector of N×K independent series (N entities × K KPIs).

    Each call is one time step of every series. ``score_many`` returns an N×K
    array where higher means more anomalous and never mutates the detector;
    ``learn_many`` updates the baselines, optionally only where ``mask`` is true.
    """

    def learn_many(self, X: np.ndarray, mask: np.ndarray | None = None) -> None: ...

    def score_many(self, X: np.ndarray) -> np.ndarray: ...


class RowSelectable(Protocol):
    """A detector whose rows (entities) can join and leave: ``select_rows(index)`` keeps the state of
    rows ``index`` in that order, and starts a row afresh (learning from its first value) where
    ``index`` is -1. The default detector set implements it; entity churn in the detect stage uses it."""

    def select_rows(self, index: np.ndarray) -> None: ...


def take_rows(state: np.ndarray, index: np.ndarray, fresh: float = 0.0) -> np.ndarray:
    """Rows ``index`` of a per-entity state array, in that order; ``-1`` makes a row of ``fresh``.

    The row operation behind a detector's ``select_rows``: entities join and
    leave a batch without the others' state moving or resetting.

    >>> take_rows(np.array([[1.0], [2.0], [3.0]]), np.array([2, -1, 0])).tolist()
    [[3.0], [0.0], [1.0]]
    """
    index = np.asarray(index, dtype=np.intp)
    out = np.full((len(index), *state.shape[1:]), fresh, dtype=state.dtype)
    keep = index >= 0
    out[keep] = state[index[keep]]
    return out
