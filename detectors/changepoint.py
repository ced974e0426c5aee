"""Where an incident starts in a block of metrics: the earliest strong shift of mean among its columns.

Each column's best split is the one with the largest two-sample z of the
means before and after it (a CUSUM statistic), with the noise σ estimated
robustly from first differences, so the shift itself does not inflate it.
"""

from __future__ import annotations

import numpy as np

_MAD_TO_SIGMA = 1.4826


def _noise_sigma(X: np.ndarray) -> np.ndarray:
    """Per-column noise σ from the MAD of first differences (a step moves one difference only)."""
    d = np.diff(X, axis=0)
    mad = np.median(np.abs(d - np.median(d, axis=0)), axis=0)
    scale = np.median(np.abs(X), axis=0)
    return np.maximum(_MAD_TO_SIGMA * mad / np.sqrt(2.0), np.maximum(1e-3 * scale, 1e-9))


def shift_statistics(X: np.ndarray) -> np.ndarray:
    """(T-1)×M: for a split before row t (t = 1..T-1), the z of mean(before) − mean(after) per column."""
    X = np.asarray(X, dtype=float)
    T = X.shape[0]
    t = np.arange(1, T)[:, None]
    s = np.cumsum(X - X.mean(axis=0), axis=0)[:-1]  # = t(T-t)/T · (mean before − mean after)
    return np.abs(s) / (_noise_sigma(X) * np.sqrt(t * (T - t) / T))


def change_point(X: np.ndarray, *, min_segment: int | None = None, min_z: float = 8.0,
                 share: float = 0.1) -> int:
    """Index of the first row after the incident's start in a T×M block of metrics.

    Columns whose best split scores at least ``min_z`` and ``share`` of the
    strongest column's are the changed ones; the earliest of their splits is
    the start, since a fault shows on its root before it spreads. With no
    changed column, the strongest split is the best guess. Splits leave at
    least ``min_segment`` rows (default max(3, T/20)) on each side.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(0.0, 1.0, size=(100, 3))
    >>> X[60:, 0] += 10.0   # the root
    >>> X[63:, 1] += 30.0   # a bigger symptom, three rows later
    >>> change_point(X)
    60
    """
    X = np.asarray(X, dtype=float)
    T = X.shape[0]
    m = max(3, T // 20) if min_segment is None else min_segment
    if 2 * m > T:
        raise ValueError(f"{T} rows are too few to find a change (need {2 * m})")
    z = shift_statistics(X)[m - 1 : T - m]
    best_z, best_t = z.max(axis=0), z.argmax(axis=0) + m
    changed = best_z >= max(min_z, share * best_z.max())
    if not changed.any():
        return int(best_t[best_z.argmax()])
    return int(best_t[changed].min())
