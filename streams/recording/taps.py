"""Taps: stages that only watch the bus, e.g. to record what a run published."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from schemas import topics
from streams.recording.files import Recorded
from streams.runtime.bus import Message


class RecordingTap:
    """Writes every record of ``topics`` to a recording, stamped by ``clock`` (ms)."""

    name = "record"

    def __init__(self, out: IO[str], *, clock: Callable[[], int],
                 watch: tuple[str, ...] = (topics.TOPOLOGY, topics.TELEMETRY, topics.MAINTENANCE,
                                           topics.ALARMS)) -> None:
        self.out, self.clock, self.topics = out, clock, watch
        self.written = 0

    async def handle(self, msg: Message) -> list:
        self.out.write(Recorded(msg.topic, msg.key, self.clock(), msg.value).to_line() + "\n")
        self.written += 1
        return []

    async def on_tick(self, tick: int) -> list:
        return []
