"""From tail probabilities to alarms: one alarm per anomaly at its onset, and a state while it lasts.

An :class:`OnsetFilter` wraps an :class:`~detectors.likelihood.AnomalyLikelihood`
and, per series and step:

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

One step — score, alarm, state, learn — is one compiled pass over the frame
(:func:`~detectors.sweep.sweep`), each value touching only its own series' state.
"""

from __future__ import annotations

import numpy as np

from detectors.likelihood import AnomalyLikelihood
from detectors.rows import select_rows, start_rows
from detectors.sweep import (
    CALM,
    CALM_RUN,
    EXIT_SIGMAS,
    LEVEL_P,
    MAX_STATE,
    ONSET_FIELDS,
    ONSETS,
    QUIET,
    REF,
    REF_TREND,
    STATE,
    STATE_AGE,
    planes,
)


class OnsetFilter:
    """Onsets, onset-only scores and anomaly states over the likelihood detector (N×K).

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

    def __init__(self, *, detector: AnomalyLikelihood, level: float = 1e-4, calm: float = 1e-2,
                 quiet: int = 20, exit_sigmas: float = 3.0, max_state: int = 480) -> None:
        self.detector = detector
        self.level, self.calm, self.quiet = level, calm, quiet
        self.exit_sigmas, self.max_state = exit_sigmas, max_state

    def step(self, X: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Score one time step, update onsets and states, learn from it; return ``(scores, flags)``.

        ``mask`` (broadcast to N×K) marks the series present in this step: the others
        learn nothing, raise nothing and keep their alarm and state as they were.
        """
        d = self.detector
        X = np.ascontiguousarray(X, dtype=d.dtype)
        present = np.ones(X.shape, dtype=bool) if mask is None else np.ascontiguousarray(
            np.broadcast_to(np.asarray(mask, dtype=bool), X.shape))
        if not hasattr(self, "_o"):
            return self._first(X)
        if getattr(self, "_pending", None) is not None:
            started = self._start_pending(X, present)
            if len(started):  # their first value is learned already: this step is their first
                present = present.copy()
                present[started] = False
        _, scores, flags, self.onsets, self.alarm_scores = d.step(self._planes(), X, present, self.params())
        return scores, flags

    def _planes(self) -> tuple[np.ndarray, ...]:
        """The onset state's fields as the compiled pass takes them (kept while the array is)."""
        cached = getattr(self, "_cached_planes", None)
        if cached is None or cached[0] is not self._o:
            self._cached_planes = cached = self._o, planes(self._o)
        return cached[1]

    def params(self) -> np.ndarray:
        """The detector's parameter vector with the filter's own (level, calm, quiet, exit, max state)."""
        if not hasattr(self, "_params"):
            P = self.detector.params().copy()
            for i, v in ((LEVEL_P, self.level), (CALM, self.calm), (QUIET, self.quiet),
                         (EXIT_SIGMAS, self.exit_sigmas), (MAX_STATE, self.max_state)):
                P[i] = v
            self._params = P
        return self._params

    def _first(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first step: nothing to score yet; the detector takes its first values."""
        self._o = np.zeros((ONSET_FIELDS, *X.shape), dtype=X.dtype)
        self._o[CALM_RUN] = self.quiet
        self.detector.learn_many(X)
        self.onsets = np.zeros(X.shape, dtype=bool)
        self.alarm_scores = np.zeros(X.shape)
        return np.zeros(X.shape), np.zeros(X.shape, dtype=bool)

    def select_rows(self, index: np.ndarray) -> None:
        """Keep the state of rows ``index`` in that order; a row at ``-1`` starts afresh at its first value.

        The other rows' baselines, tails, records, alarms and states do not move.
        """
        index = np.asarray(index, dtype=np.intp)
        if not hasattr(self, "_o"):
            return
        n = self._o.shape[-2]
        old = self._pending if getattr(self, "_pending", None) is not None else np.zeros(n, dtype=bool)
        select_rows(self, index, n)
        self._pending = (index < 0) | old[np.maximum(index, 0)]
        if not self._pending.any():
            self._pending = None

    def _start_pending(self, X: np.ndarray, present: np.ndarray) -> np.ndarray:
        """New rows present in this step get the state a fresh set has after its first value; their rows."""
        rows = np.flatnonzero(self._pending & present.any(axis=1))
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
        if not hasattr(self, "_o"):
            return base
        return np.where(self._o[STATE] != 0, self._reference(), base)

    def _reference(self) -> np.ndarray:
        """Where each series in a state would be without the anomaly: its pre-onset forecast, continued."""
        o = self._o
        return o[REF] + o[REF_TREND] * o[STATE_AGE]

    @property
    def onset_count(self) -> np.ndarray:
        """Onsets each series has raised so far (N×K)."""
        return self._o[ONSETS].astype(np.int64)
