"""Entities joining and leaving: re-rowing a detector's per-entity state without touching the others.

Every per-entity array of the default set has its entity rows on its
second-to-last axis (``N×K`` arrays, or stacks of them). :func:`select_rows`
takes rows ``index`` of each such array of an object and of the objects it
holds (tails, records); a row at ``-1`` is new and marked pending, and
:func:`start_rows` gives pending rows the state a fresh detector would have
after learning their first value — by building one and copying its rows —
so a new entity warms up on its own and no other row moves or resets.
"""

from __future__ import annotations

import numpy as np


def select_rows(obj: object, index: np.ndarray, n: int) -> None:
    """Keep rows ``index`` (of ``n``) of every per-entity array of ``obj``, recursively; ``-1`` is new."""
    index = np.asarray(index, dtype=np.intp)
    keep = np.maximum(index, 0)
    for name, value in vars(obj).items():
        if name.startswith("_cached"):
            continue
        if isinstance(value, np.ndarray) and value.ndim >= 2 and value.shape[-2] == n:
            setattr(obj, name, np.take(value, keep, axis=-2) if n else _empty_rows(value, len(index)))
        elif _holds_rows(value):
            own = getattr(value, "select_rows", None)
            own(index) if own is not None else select_rows(value, index, n)


def start_rows(dst: object, src: object, rows: np.ndarray) -> None:
    """Copy rows 0.. of every per-entity array of ``src`` into rows ``rows`` of ``dst``, recursively."""
    for name, value in vars(src).items():
        if name.startswith("_cached"):
            continue
        mine = getattr(dst, name, None)
        if isinstance(value, np.ndarray) and isinstance(mine, np.ndarray) and value.ndim >= 2 \
                and mine.ndim == value.ndim:
            idx = (slice(None),) * (value.ndim - 2) + (rows,)
            mine[idx] = value
        elif _holds_rows(value) and mine is not None:
            start_rows(mine, value, rows)


def _holds_rows(value: object) -> bool:
    return hasattr(value, "__dict__") and type(value).__module__.startswith("detectors.")


def _empty_rows(value: np.ndarray, m: int) -> np.ndarray:
    shape = list(value.shape)
    shape[-2] = m
    return np.zeros(shape, dtype=value.dtype)
