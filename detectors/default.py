"""The default detector set: what the detect stage runs on every frame, and what ``netloop bench`` times.

A Holt level+trend baseline follows each series (and the daily ramp); a CUSUM
of its residual z-scores (:class:`LevelShift`) scores, so a spike scores its
size less the slack and a lasting step keeps adding up; a fixed threshold
flags, and an :class:`AnomalyFilter` keeps flagged points out of learning.
Measured on the scenario suite, the CUSUM flags a third fewer healthy values
than the bare z-score at the same threshold (one-tick noise needs ``k`` more
sigmas), and more of a fault's values.
"""

from __future__ import annotations

import numpy as np

from detectors.levelshift import LevelShift
from detectors.threshold import AnomalyFilter, ZThreshold
from schemas import KPIS_BY_KIND, Direction, EntityKind

DEFAULT_DETECTOR = "levelshift"
_SIGN = {Direction.UP: 1.0, Direction.DOWN: -1.0, Direction.BOTH: 0.0}


def directions_of(kind: EntityKind) -> np.ndarray:
    """The bad direction of each KPI of ``kind``, in column order: +1 up, -1 down, 0 both.

    >>> directions_of(EntityKind.LINK).tolist()  # utilisation, latency, loss
    [0.0, 1.0, 1.0]
    """
    return np.array([_SIGN[k.bad] for k in KPIS_BY_KIND[kind]])


def default_filter(directions: np.ndarray, *, threshold: float = 6.0, warmup: int = 60,
                   relearn_after: int = 240, slack: float = 1.0) -> AnomalyFilter:
    """A fresh default detector set for one shard's N×K frames (K = ``len(directions)``)."""
    return AnomalyFilter(detector=LevelShift(directions=directions, k=slack, warmup=warmup),
                         threshold=ZThreshold(threshold), relearn_after=relearn_after)
