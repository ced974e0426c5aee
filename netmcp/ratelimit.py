"""Slowing down callers that keep failing: wrong client secrets at the token endpoint.

A :class:`FailureLimiter` counts failures per key (the caller's address) in a
fixed window; a key with ``max_failures`` in the current window is refused
until the window ends, without the secret being checked (checking costs a
scrypt hash, which is the point of the flood). It remembers at most
``max_keys`` keys, the least recently failing forgotten first.

>>> limiter = FailureLimiter(max_failures=2, window_s=60.0, clock=lambda: 0.0)
>>> limiter.failed("192.0.2.7"); limiter.failed("192.0.2.7")
>>> limiter.retry_after("192.0.2.7"), limiter.retry_after("192.0.2.8")
(60, None)
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class FailureLimiter:
    """Failures per key in a fixed window of ``window_s`` seconds; at ``max_failures`` the key waits."""

    def __init__(self, *, max_failures: int = 10, window_s: float = 60.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures, self.window_s, self.max_keys, self.clock = max_failures, window_s, max_keys, clock
        self._keys: OrderedDict[str, tuple[float, int]] = OrderedDict()  # key → (window start, failures)

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again; None when it may now."""
        entry = self._current(key)
        if entry is None or entry[1] < self.max_failures:
            return None
        return max(1, math.ceil(entry[0] + self.window_s - self.clock()))

    def failed(self, key: str) -> None:
        """Count one failure of ``key``."""
        start, count = self._current(key) or (self.clock(), 0)
        self._keys[key] = (start, count + 1)
        self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    def _current(self, key: str) -> tuple[float, int] | None:
        entry = self._keys.get(key)
        if entry is not None and self.clock() - entry[0] >= self.window_s:
            del self._keys[key]
            return None
        return entry
