"""A clock for tests: time moves only when the test moves it (``clock.now += 901``)."""

from __future__ import annotations


class Clock:
    """Seconds since the epoch, callable like ``time.time``, advanced by assigning ``now``."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
