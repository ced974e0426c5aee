"""Ticks as data: each keyed stream of ticks moves forward, and never far ahead of the others.

Telemetry frames (keyed by shard and kind) and tick marks (keyed by partition)
carry ticks an outsider can forge. A :class:`TickWindow` admits a tick only when
it is not before the last one of its key (after it, with ``strict``), and at
most ``max_ahead`` ticks past the latest tick admitted on any key: a spoofed
tick far in the future is refused instead of closing or freezing every tick
before it, a stale one instead of being learned.

Frames may repeat their shard's tick (a redelivered or second frame of a tick
is scored too, so a forged frame cannot push the real one out); tick marks are
strict, because a mark closes its tick.

A key whose ticks are refused as behind ``rewind_after`` times in a row, each
after the one before, has started over (a producer restarted, or a forged tick
ran it ahead): its timeline is taken from there. A forged far-ahead tick thus
blinds its key for at most ``rewind_after`` ticks, and a restarted producer is
followed again; the ticks a consumer has already closed stay closed.

With ``jump_after``, the same holds ahead: a key whose ticks are refused as too far
ahead that many times in a row, each after the one before and at most ``max_ahead``
past it, has come back from a silence (a collector down, a gap in a recording) and
is followed from there. Frames use it; tick marks, which close ticks, do not.

>>> w = TickWindow(max_ahead=10, strict=True)
>>> w.admit("a", 5); w.admit("b", 7)
>>> w.admit("a", 1000)
Traceback (most recent call last):
...
streams.runtime.perceive.BadRecord: tick 1000 of a is more than 10 ticks ahead of the latest tick seen (7)
"""

from __future__ import annotations

from collections.abc import Hashable

from streams.runtime.perceive import BadRecord


class TickWindow:
    """Per key: ticks that never go back (with ``strict``: always forward); overall: at most
    ``max_ahead`` past the latest admitted.

    The first tick ever admitted has nothing to be measured against and sets the latest.
    """

    def __init__(self, *, max_ahead: int, strict: bool = False, rewind_after: int = 3,
                 jump_after: int | None = None) -> None:
        self.max_ahead, self.strict, self.rewind_after = max_ahead, strict, rewind_after
        self.jump_after = jump_after
        self.latest: int | None = None
        self._last: dict[Hashable, int] = {}
        self._behind: dict[Hashable, tuple[int, int]] = {}  # key → (refusals in a row, last refused)
        self._ahead: dict[Hashable, tuple[int, int]] = {}  # the same, for refusals as too far ahead

    def admit(self, key: Hashable, tick: int) -> None:
        """Record ``tick`` for ``key``; raise :class:`BadRecord` when it is behind or too far ahead."""
        self.settle(key, tick)
        self._behind.pop(key, None)
        self._ahead.pop(key, None)
        self._last[key] = tick
        self.latest = tick if self.latest is None else max(self.latest, tick)

    def settle(self, key: Hashable, tick: int) -> None:
        """:meth:`check`, counting a refusal toward the key starting over (or coming back from a
        silence); raise :class:`BadRecord` unless ``tick`` may be admitted now."""
        try:
            self.check(key, tick)
        except BadRecord as exc:
            if not ((exc.kind == "tick_behind" and self._rewinds(key, tick))
                    or (exc.kind == "tick_ahead" and self._jumps(key, tick))):
                raise

    def _rewinds(self, key: Hashable, tick: int) -> bool:
        """Count a refusal as behind; True when the key has now started over at ``tick``."""
        count, prev = self._behind.get(key, (0, tick))
        count = count + 1 if count and tick > prev else 1
        if count < self.rewind_after:
            self._behind[key] = (count, tick)
            return False
        self._last[key] = tick
        self.latest = max(self._last.values())
        return True

    def _jumps(self, key: Hashable, tick: int) -> bool:
        """Count a refusal as too far ahead; True when the key has now come back at ``tick``."""
        if self.jump_after is None:
            return False
        count, prev = self._ahead.get(key, (0, tick))
        count = count + 1 if count and prev < tick <= prev + self.max_ahead else 1
        if count < self.jump_after:
            if len(self._ahead) < 4 * max(len(self._last), 1024) or key in self._ahead:  # bounded
                self._ahead[key] = (count, tick)
            return False
        self._last[key] = tick
        self.latest = max(self._last.values())
        return True

    def check(self, key: Hashable, tick: int) -> None:
        """Raise :class:`BadRecord` when ``key`` may not have ``tick`` now; change nothing."""
        last = self._last.get(key)
        if last is not None and (tick < last or (self.strict and tick == last)):
            word = "repeats" if tick == last else "is before"
            raise BadRecord("tick_behind", f"tick {tick} of {_name(key)} {word} its last tick {last}")
        if self.latest is not None and tick > self.latest + self.max_ahead:
            raise BadRecord("tick_ahead", f"tick {tick} of {_name(key)} is more than {self.max_ahead} "
                            f"ticks ahead of the latest tick seen ({self.latest})")

    def last(self, key: Hashable) -> int | None:
        """The last tick admitted for ``key``."""
        return self._last.get(key)

    def resume(self, key: Hashable, tick: int) -> None:
        """``key`` had reached ``tick`` before a restart: only later ticks are admitted for it.

        The window's latest tick is left as it is: what a restart knows it reached (the last
        tick judged in a log) can be any distance behind the ticks that come next, and measured
        against it every one of them would be too far ahead. The first tick admitted after a
        restart sets it, as the first tick ever does.
        """
        self._last[key] = max(tick, self._last.get(key, tick))

    def forget(self, key: Hashable) -> None:
        """Drop what is known of ``key`` (its state was evicted)."""
        self._last.pop(key, None)
        self._behind.pop(key, None)
        self._ahead.pop(key, None)

    def __len__(self) -> int:
        return len(self._last)


def _name(key: Hashable) -> str:
    if isinstance(key, tuple):
        return "/".join(str(k) for k in key)
    return str(key)
