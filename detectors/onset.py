"""From tail probabilities to alarms: one alarm per anomaly at its onset, and a state while it lasts.

An :class:`OnsetFilter` wraps a detector that gives tail probabilities
(:class:`~detectors.likelihood.AnomalyLikelihood`) and, per series and step:

- raises an **onset** when the probability falls below ``level`` and the
  series is not already in an alarm; the alarm then holds until ``quiet``
  consecutive points are calm (probability ≥ ``calm``), so one anomaly
  alarms once however long it lasts (:attr:`OnsetFilter.alarm_scores` is the
  score at onsets and 0 inside an alarm: what a benchmark that charges every
  repeated alarm should read);
- keeps a **state** (the flags): from an onset, or from any value as rare
  inside an alarm whose state has ended (a second fault soon after a first
  is flagged, though it raises no second alarm), the series is anomalous for
  as long as its value stays ``exit_sigmas`` scales or more in its bad
  direction away from what the baseline expected just before the onset,
  at most ``max_state`` steps (that expectation goes on with the baseline's
  trend at the onset, so a daily ramp is not taken for the anomaly going
  on). The detector itself learns from every point
  and follows a lasting change; the state remembers where the series came
  from, so a fault that is not repaired stays visible while it lasts.
"""

from __future__ import annotations

import numpy as np

from detectors.baseline import orientation
from detectors.rows import select_rows, start_rows


class OnsetFilter:
    """Onsets, onset-only scores and anomaly states over a tail-probability detector (N×K).

    ``step(X)`` returns ``(scores, flags)``: scores ``1 − p`` in [0, 1] and
    the state flags. :attr:`onsets` and
    :attr:`alarm_scores` describe the same step.

    Examples
    --------
    >>> import numpy as np
    >>> from detectors.likelihood import AnomalyLikelihood
    >>> rng = np.random.default_rng(3)
    >>> f = OnsetFilter(detector=AnomalyLikelihood(directions=np.array([1.0])))
    >>> for v in 50 + rng.normal(size=500):
    ...     _ = f.step(np.array([[v]]))
    >>> flags = [bool(f.step(np.array([[v]]))[1][0, 0]) for v in 60 + rng.normal(size=5)]
    >>> onsets = int(f.onset_count[0, 0])
    >>> flags, onsets  # a lasting step up: one onset, flagged while it lasts
    ([True, True, True, True, True], 1)
    """

    def __init__(self, *, detector, level: float = 1e-4, calm: float = 1e-2, quiet: int = 20,
                 exit_sigmas: float = 3.0, max_state: int = 240) -> None:
        self.detector = detector
        self.level, self.calm, self.quiet = level, calm, quiet
        self.exit_sigmas, self.max_state = exit_sigmas, max_state

    def step(self, X: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Score one time step, update onsets and states, learn from it; return ``(scores, flags)``.

        ``mask`` (broadcast to N×K) marks the series present in this step: the others
        learn nothing, raise nothing and keep their alarm and state as they were.
        """
        X = np.asarray(X, dtype=self.detector.dtype)
        present = None if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), X.shape)
        if getattr(self, "_pending", None) is not None:
            started = self._start_pending(X, mask)
            if len(started):  # their first value is learned already: this step is their first
                present = np.ones(X.shape, dtype=bool) if present is None else present.copy()
                present[started] = False
        p = self.detector.tail_probability(X)
        if not hasattr(self, "_calm_run"):
            self._init(X)
        if present is not None:
            p = np.where(present, p, 1.0)
        scores = 1.0 - p.astype(np.float64)
        in_alarm = self._calm_run < self.quiet
        rare = p < self.level
        onset = rare & ~in_alarm
        self.onsets = onset
        self.alarm_scores = scores * ~in_alarm
        self._update_alarm(onset, in_alarm, p, present)
        flags = self._update_state(X, rare, present)  # a second anomaly inside an alarm is a state again
        self.detector.learn_many(X, present)
        return scores, flags

    def select_rows(self, index: np.ndarray) -> None:
        """Keep the state of rows ``index`` in that order; a row at ``-1`` starts afresh at its first value.

        The other rows' baselines, tails, records, alarms and states do not move.
        """
        index = np.asarray(index, dtype=np.intp)
        if not hasattr(self, "_calm_run"):
            return
        old = self._pending if getattr(self, "_pending", None) is not None else np.zeros(
            self._calm_run.shape[0], dtype=bool)
        select_rows(self, index, self._calm_run.shape[0])
        self._pending = (index < 0) | old[np.maximum(index, 0)]
        if not self._pending.any():
            self._pending = None

    def _start_pending(self, X: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """New rows present in this step get the state a fresh set has after its first value; their rows."""
        present = np.ones(len(X), dtype=bool) if mask is None else np.asarray(mask, dtype=bool).reshape(
            len(X), -1).any(axis=1)
        rows = np.flatnonzero(self._pending & present)
        if len(rows):
            fresh = OnsetFilter(detector=self.detector.fresh(), level=self.level, calm=self.calm,
                                quiet=self.quiet, exit_sigmas=self.exit_sigmas, max_state=self.max_state)
            fresh.step(X[rows])
            start_rows(self, fresh, rows)
            self._pending[rows] = False
        if not self._pending.any():
            self._pending = None
        return rows

    def expected(self) -> np.ndarray:
        """What each series is measured against: its pre-onset reference in a state, else the baseline."""
        base = self.detector.expected()
        if not hasattr(self, "_state"):
            return base
        return np.where(self._state, self._reference(), base)

    def _reference(self) -> np.ndarray:
        """Where each series in a state would be without the anomaly: its pre-onset forecast, continued."""
        return self._ref + self._ref_trend * self._age

    @property
    def onset_count(self) -> np.ndarray:
        """Onsets each series has raised so far (N×K)."""
        return self._onsets_total.copy()

    def _init(self, X: np.ndarray) -> None:
        shape = X.shape
        self._calm_run = np.full(shape, self.quiet, dtype=np.int32)
        self._onsets_total = np.zeros(shape, dtype=np.int64)
        self._state = np.zeros(shape, dtype=bool)
        self._age = np.zeros(shape, dtype=np.int32)
        self._ref = np.zeros_like(X)
        self._ref_trend = np.zeros_like(X)
        self._ref_inv_scale = np.zeros_like(X)
        a, b = orientation(np.broadcast_to(self.detector.directions, shape))
        self._a, self._b = a.astype(X.dtype), b.astype(X.dtype)

    def _update_alarm(self, onset: np.ndarray, in_alarm: np.ndarray, p: np.ndarray,
                      present: np.ndarray | None) -> None:
        calm_now = p >= self.calm
        run = np.where(in_alarm, (self._calm_run + 1) * calm_now, self._calm_run)
        run[onset] = 0
        self._calm_run = run if present is None else np.where(present, run, self._calm_run)
        self._onsets_total += onset

    def _update_state(self, X: np.ndarray, onset: np.ndarray, present: np.ndarray | None) -> np.ndarray:
        new = onset & ~self._state
        if new.any():
            self._ref[new] = self.detector.expected()[new]
            self._ref_trend[new] = self.detector.trend()[new]
            self._ref_inv_scale[new] = (1.0 / self.detector.scale())[new]
            self._age[new] = 0
        z = (X - self._reference()) * self._ref_inv_scale
        away = np.maximum(z * self._a, z * self._b) >= self.exit_sigmas
        state = new | (self._state & away & (self._age < self.max_state))
        if present is not None:  # an absent series keeps its state, and its age stands still
            state = np.where(present, state, self._state)
        self._age = np.where(present, (self._age + 1) * state, self._age) if present is not None else (
            (self._age + 1) * state)
        self._state = state
        return state.copy()
