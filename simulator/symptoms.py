"""Symptoms as data: which KPI a fault moves, where, how, and by how much.

A fault type's repertoire lists symptoms; an episode draws which of them show
and their sizes (:mod:`simulator.episode`). Applying a symptom with intensity
``I`` in [0, 1] moves a KPI from its healthy value ``x`` toward the faulty
value ``y``: ``x + I·(y − x)``, so onsets, lags and recoveries are one formula.

>>> import numpy as np
>>> faulty(np.array([10.0, 20.0]), "scale", 0.5)
array([ 5., 10.])
>>> faulty(np.array([0.5]), "floor", 0.97)
array([0.97])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Where = Literal["root", "cells", "siblings"]
Op = Literal["set", "floor", "add", "scale", "mul"]


@dataclass(frozen=True)
class Symptom:
    """One KPI a fault moves.

    ``where``: the root itself, the cells behind it, or (for a cell root) the
    other cells of its site. ``op``: ``set`` to ``size``; ``floor`` at
    ``size + slope·severity``; ``add`` ``size·severity``; ``scale`` by
    ``1 − size·severity`` (a negative size raises the KPI); ``mul`` by ``size``.
    ``p`` is the chance it shows in an episode of the realistic world;
    ``classic`` symptoms are the ideal world's whole signature. A ``load``
    symptom's size is the episode's excess demand, not the severity.
    """

    where: Where
    kpi: str
    op: Op
    size: float
    p: float = 1.0
    classic: bool = True
    scaled: bool = True
    slope: float = 0.0
    load: bool = False


def faulty(x: np.ndarray, op: Op, size: float | np.ndarray) -> np.ndarray:
    """The value a KPI takes under a symptom at full intensity (``size`` already severity-scaled)."""
    if op == "set":
        return np.broadcast_to(np.asarray(size, dtype=float), x.shape).copy()
    if op == "floor":
        return np.maximum(x, size)
    if op == "add":
        return x + size
    if op == "scale":
        return x * np.maximum(0.0, 1.0 - np.asarray(size))
    return x * size


def apply(column: np.ndarray, rows: np.ndarray | int, op: Op, size: float | np.ndarray,
          intensity: float | np.ndarray) -> None:
    """Move ``column[rows]`` toward its faulty value by ``intensity``, in place."""
    x = column[rows]
    y = faulty(np.asarray(x, dtype=float), op, size)
    if np.ndim(intensity) == 0 and float(intensity) >= 1.0:
        column[rows] = y  # exactly the faulty value: the ideal world is reproduced to the bit
    else:
        column[rows] = x + np.asarray(intensity) * (y - x)
