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
