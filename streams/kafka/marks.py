"""Tick marks on Kafka: control records that are checked like data, and close ticks only when sound.

A :class:`~schemas.TickMark` says a telemetry partition has every record of a
tick. Anyone who can write to ``netloop.telemetry`` can write one, so a mark is
decoded inside the dead-letter handling like any record, and refused (a dead
letter with the reason, counted) unless it names the topic's real number of
partitions and a source partition of it, moves its partition strictly forward,
and is at most ``max_ahead`` ticks past the latest mark seen
(:class:`~streams.runtime.ticks.TickWindow`). A forged mark is never acted on.

:class:`MarkedStage` puts one stage behind this: detect checks the marks of the
telemetry partitions and forwards each into ``netloop.anomalies``; every other
stage of the loop after detect hears those forwarded marks (its agent reads
``netloop.anomalies`` for them, even a stage such as act that reads no anomaly) and its :class:`TickClock`
closes a tick once every partition has marked it, so waiting workflow steps and
timers wake on every runtime.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas import TickMark, topics
from streams.runtime.bus import Message
from streams.runtime.perceive import BadRecord
from streams.runtime.pipeline import Out, Stage
from streams.runtime.stages import DetectStage
from streams.runtime.ticks import TickWindow

MARK = b'"tick_closed"'  # a TickMark's field: marks are time, not state, and are not replayed
MAX_PENDING_TICKS = 10_000
"""Ticks a clock holds marks of while some partition has not marked them yet (oldest dropped first)."""


_LOOP_TOPICS = frozenset({topics.ANOMALIES, topics.INCIDENTS, topics.ACTIONS, topics.ACTION_RESULTS,
                          topics.DECISIONS})
"""The loop's topics after detect: a stage reading one of them works in ticks and hears the marks."""


def is_mark(msg: Message) -> bool:
    """Whether a record on a telemetry or anomaly partition is (meant as) a tick mark."""
    return msg.topic in (topics.TELEMETRY, topics.ANOMALIES) and MARK in msg.value[:64]


def check_partitions(mark: TickMark, partitions: int, source: int | None) -> int:
    """The mark's source partition, after checking it against the topic's ``partitions``."""
    if mark.partitions != partitions:
        raise BadRecord("tick_mark", f"tick mark {mark.tick_closed} is for {mark.partitions} partitions; "
                        f"{topics.TELEMETRY} has {partitions}")
    if source is None or not 0 <= source < partitions:
        raise BadRecord("tick_mark", f"tick mark {mark.tick_closed} names no telemetry partition "
                        f"(source {source!r} of {partitions})")
    return source


class TickClock:
    """Counts valid marks per tick; a tick closes when every telemetry partition has marked it."""

    def __init__(self, partitions: int, *, max_ahead: int = 5) -> None:
        self.partitions = partitions
        self._window = TickWindow(max_ahead=max_ahead, strict=True)
        self._seen: dict[int, set[int]] = {}
        self._closed = -1

    def resume_after(self, tick: int) -> None:
        """Ticks up to ``tick`` were closed before a restart: their marks come back, and are refused."""
        self._closed = max(self._closed, tick)
        if tick >= 0:
            for p in range(self.partitions):
                self._window.resume(p, tick)

    def mark(self, mark: TickMark) -> list[int]:
        """The ticks ``mark`` closes (in order); raise :class:`BadRecord` for a forged or stale mark."""
        source = check_partitions(mark, self.partitions, mark.source_partition)
        self._window.admit(source, mark.tick_closed)
        if mark.tick_closed <= self._closed:
            return []
        self._seen.setdefault(mark.tick_closed, set()).add(source)
        while len(self._seen) > MAX_PENDING_TICKS:
            del self._seen[min(self._seen)]
        closed = []
        for t in sorted(t for t, parts in self._seen.items() if len(parts) >= self.partitions):
            if t > self._closed:
                closed.append(t)
                self._closed = t
        for t in [t for t in self._seen if t <= self._closed]:
            del self._seen[t]
        return closed


class MarkedStage:
    """A stage with its tick marks: checked, forwarded (detect) or counted into closed ticks (the rest).

    It is what a Kafka agent hands each record to, inside the dead-letter handling.
    """

    def __init__(self, stage: Stage, *, partitions: int, max_ahead: int,
                 on_tick_closed: Callable[[str, int], None] | None = None) -> None:
        self.stage, self.name = stage, stage.name
        self.forwards = stage.name == DetectStage.name  # one stage forwards: taps on telemetry do not
        timed = not self.forwards and bool(set(stage.topics) & _LOOP_TOPICS)
        self.topics = tuple(dict.fromkeys((*stage.topics, topics.ANOMALIES))) if timed else stage.topics
        self.partitions = partitions
        self.clock = TickClock(partitions, max_ahead=max_ahead)
        self._incoming = TickWindow(max_ahead=max_ahead, strict=True)  # detect: per telemetry partition
        self._on_tick_closed = on_tick_closed

    async def handle(self, msg: Message) -> list[Out]:
        if is_mark(msg):
            return await self._mark(msg)
        if msg.topic not in self.stage.topics:
            return []  # an anomaly for a stage that hears the topic only for its marks
        return await self.stage.handle(msg)

    async def on_tick(self, tick: int) -> list[Out]:
        return await self.stage.on_tick(tick)

    async def _mark(self, msg: Message) -> list[Out]:
        if msg.topic == topics.TELEMETRY and not self.forwards:
            return []  # detect checks and forwards telemetry's marks; others reading telemetry skip them
        mark = TickMark.decode(msg.value)
        if msg.topic == topics.TELEMETRY:
            source = check_partitions(mark, self.partitions, msg.partition)
            self._incoming.admit(source, mark.tick_closed)
            fwd = TickMark(tick_closed=mark.tick_closed, source_partition=source, partitions=self.partitions)
            return [(topics.ANOMALIES, None, fwd)]
        if self.forwards:
            return []
        outs: list[Out] = []
        for tick in self.clock.mark(mark):
            outs += await self.stage.on_tick(tick)
            if self._on_tick_closed is not None:
                self._on_tick_closed(self.name, tick)
        return outs
