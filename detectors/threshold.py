"""Deciding from scores: a threshold object, and a filter that keeps flagged points out of learning."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.base import Detector


@dataclass(frozen=True)
class ZThreshold:
    """Flags scores at or above ``threshold`` baseline sigmas."""

    threshold: float = 6.0

    def classify(self, scores: np.ndarray) -> np.ndarray:
        return scores >= self.threshold


class AnomalyFilter:
    """Score, classify, then learn only from points that were not flagged.

    A fault therefore does not become the new normal while it lasts. A series
    flagged for more than ``relearn_after`` consecutive steps learns again, so a
    lasting change of level is eventually accepted.
    """

    def __init__(self, *, detector: Detector, threshold: ZThreshold, relearn_after: int = 240) -> None:
        self.detector = detector
        self.threshold = threshold
        self.relearn_after = relearn_after

    def step(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score one time step, learn from it, return ``(scores, flags)``."""
        scores = self.detector.score_many(X)
        flags = self.threshold.classify(scores)
        streak = self._streak(flags)
        self.detector.learn_many(X, mask=~flags | (streak > self.relearn_after))
        return scores, flags

    def _streak(self, flags: np.ndarray) -> np.ndarray:
        prev = getattr(self, "_run", None)
        run = np.where(flags, (prev if prev is not None else 0) + 1, 0)
        self._run = run
        return run
