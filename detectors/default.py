"""The default detector set: what the detect stage runs on every frame, what ``netloop evaluate``
scores on outside data, and what ``netloop bench`` times.

An :class:`~detectors.likelihood.AnomalyLikelihood` turns each value into the
tail probability of its surprise under its own series' history; an
:class:`~detectors.onset.OnsetFilter` raises one alarm per anomaly at its
onset and keeps the series flagged while it stays away from where it came
from. One configuration for every series and data set.
"""

from __future__ import annotations

import numpy as np

from detectors.likelihood import AnomalyLikelihood
from detectors.onset import OnsetFilter
from schemas import KPIS_BY_KIND, Direction, EntityKind
from schemas.catalogue import Catalogue

DEFAULT_DETECTOR = "netloop"
DEFAULT_LEVEL = 1e-4
"""Tail probability below which a value raises an alarm."""
DEFAULT_MAX_STATE = 480
"""Steps an anomaly state lasts at most: a fault nobody repairs stays visible for 8 hours of one-minute
ticks (240 until 2026-12-07: anomalies in real multivariate runs last about 400 steps, and unrepaired
faults in the simulated network longer)."""
_SIGN = {Direction.UP: 1.0, Direction.DOWN: -1.0, Direction.BOTH: 0.0}


def directions_of(kind: str, catalogue: Catalogue | None = None) -> np.ndarray:
    """The bad direction of each KPI of ``kind``, in column order: +1 up, -1 down, 0 both; the kind as
    ``catalogue`` declares it (default: the simulated network's).

    >>> directions_of(EntityKind.LINK).tolist()  # utilisation, latency, loss
    [0.0, 1.0, 1.0]
    """
    kpis = catalogue.kpis(kind) if catalogue is not None else KPIS_BY_KIND[EntityKind(kind)]
    return np.array([_SIGN[k.bad] for k in kpis], dtype=float)


def default_filter(directions: np.ndarray, *, level: float = DEFAULT_LEVEL,
                   max_state: int = DEFAULT_MAX_STATE, dtype: type = np.float32) -> OnsetFilter:
    """A fresh default detector set for one shard's N×K frames (K = ``len(directions)``)."""
    return OnsetFilter(detector=AnomalyLikelihood(directions=directions, dtype=dtype), level=level,
                       max_state=max_state)
