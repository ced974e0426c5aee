"""What an incident's confidence means: the share of such incidents that were right, in simulation.

The localizer's raw confidence (match quality × the winner's share of the
score) ranks findings but is not a probability. Calibration bins it (tenths),
takes each bin's share of findings that named the right root and fault type
with one right and one wrong pseudo-finding added (so a bin of three right
findings says 0.8, not 1.0), makes the bins monotone (isotonic regression,
weighted by their counts) and interpolates between bin centres. The findings
come from simulated episodes of one or two simultaneous faults (``netloop
episodes``).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from sklearn.isotonic import IsotonicRegression

from detectors.classifier import shipped_episodes

_BINS = 10


class ConfidenceCalibration:
    """A monotone map from raw localizer confidence (0..1) to the probability of being right.

    Examples
    --------
    >>> cal = ConfidenceCalibration().fit([0.15, 0.25, 0.65, 0.95] * 5, [False, True, True, True] * 5)
    >>> round(cal(0.15), 2), round(cal(0.95), 2)
    (0.14, 0.86)
    """

    def fit(self, raw: list[float] | np.ndarray, right: list[bool] | np.ndarray) -> ConfidenceCalibration:
        x, y = np.asarray(raw, dtype=float), np.asarray(right, dtype=float)
        b = np.minimum((x * _BINS).astype(int), _BINS - 1)
        n = np.bincount(b, minlength=_BINS)
        k = np.bincount(b, weights=y, minlength=_BINS)
        seen = n > 0
        centres = (np.arange(_BINS)[seen] + 0.5) / _BINS
        share = (k[seen] + 1.0) / (n[seen] + 2.0)
        iso = IsotonicRegression(y_min=0.0, y_max=1.0).fit(centres, share, sample_weight=n[seen] + 2.0)
        self._x, self._p = centres, iso.predict(centres)
        return self

    def __call__(self, raw: float) -> float:
        return float(np.interp(raw, self._x, self._p))


@cache
def shipped_calibration() -> ConfidenceCalibration:
    """The calibration fitted on the shipped episodes' findings (once per process)."""
    data = shipped_episodes()["calibration"]
    return ConfidenceCalibration().fit(data["raw"], data["right"])
