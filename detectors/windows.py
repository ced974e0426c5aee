"""Window-based precision and recall of flagged points against labelled anomaly windows.

A labelled window is *detected* when at least one flagged point lies inside
it (ends included). A *false positive* is a maximal run of consecutive
flagged points outside every window, counted once however long it lasts.
Precision = detected / (detected + false positives), recall = detected /
windows, F1 = 2·detected / (2·detected + false positives + missed windows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindowCounts:
    """Counts for one series (or, added up, for many); the ratios are ``None`` where undefined.

    >>> c = WindowCounts(windows=2, detected=1, false_positives=1)
    >>> c.precision, c.recall, c.f1
    (0.5, 0.5, 0.5)
    """

    windows: int
    detected: int
    false_positives: int

    def __add__(self, other: WindowCounts) -> WindowCounts:
        return WindowCounts(self.windows + other.windows, self.detected + other.detected,
                            self.false_positives + other.false_positives)

    @property
    def precision(self) -> float | None:
        flagged = self.detected + self.false_positives
        return self.detected / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.windows if self.windows else None

    @property
    def f1(self) -> float | None:
        missed = self.windows - self.detected
        denominator = 2 * self.detected + self.false_positives + missed
        return 2 * self.detected / denominator if denominator else None


def window_ids(times: np.ndarray, windows: Sequence[tuple[np.datetime64, np.datetime64]]) -> np.ndarray:
    """For each time, the index of the window ``[start, end]`` holding it, or -1 outside all.

    >>> t = np.arange(6).astype("datetime64[s]")
    >>> window_ids(t, [(t[1], t[2]), (t[4], t[4])]).tolist()
    [-1, 0, 0, -1, 1, -1]
    """
    ids = np.full(len(times), -1)
    for w, (start, end) in enumerate(windows):
        ids[(times >= start) & (times <= end)] = w
    return ids


def window_counts(flags: np.ndarray, ids: np.ndarray, n_windows: int) -> WindowCounts:
    """Count detected windows and false-positive runs of ``flags`` (``ids`` from :func:`window_ids`).

    >>> ids = np.array([-1, -1, 0, 0, -1, -1, -1])
    >>> window_counts(np.array([1, 1, 0, 1, 0, 1, 0], bool), ids, n_windows=2)
    WindowCounts(windows=2, detected=1, false_positives=2)
    """
    flags = np.asarray(flags, dtype=bool)
    detected = len(np.unique(ids[flags & (ids >= 0)]))
    outside = flags & (ids < 0)
    runs = int(outside[:1].sum() + (outside[1:] & ~outside[:-1]).sum())
    return WindowCounts(n_windows, detected, runs)
