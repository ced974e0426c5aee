"""The embedded bus: topics fan out to per-stage inboxes, bounded queues, in one event loop.

Each stage has one inbox for all the topics it subscribes to, so it sees
records in publish order. Consumers call :meth:`EmbeddedBus.done` after
handling a record (and publishing its results), so :meth:`drain` knows when
the whole pipeline is quiet. ``publish`` waits while an inbox is full: a fast
producer is slowed to the pace of the slowest consumer, memory stays bounded.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Message:
    """A record on a topic: key and value bytes, with the offset the bus gave it."""

    topic: str
    key: str | None
    value: bytes
    offset: int
    partition: int | None = None


class EmbeddedBus:
    """Topic fan-out to bounded inboxes."""

    def __init__(self, *, maxsize: int = 4096) -> None:
        self.maxsize = maxsize
        self._inboxes: dict[str, asyncio.Queue[Message]] = {}
        self._routes: dict[str, list[asyncio.Queue[Message]]] = defaultdict(list)
        self.published: Counter[str] = Counter()
        self._in_flight = 0  # deliveries not yet acknowledged with done()
        self._idle = asyncio.Event()
        self._idle.set()

    def subscribe(self, name: str, topics: tuple[str, ...], *, maxsize: int | None = None
                  ) -> asyncio.Queue[Message]:
        """Create the inbox of stage ``name`` for ``topics``."""
        if name in self._inboxes:
            raise ValueError(f"stage {name!r} already subscribed")
        inbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=maxsize or self.maxsize)
        self._inboxes[name] = inbox
        for t in topics:
            self._routes[t].append(inbox)
        return inbox

    async def publish(self, topic: str, key: str | None, value: bytes) -> None:
        msg = Message(topic, key, value, self.published[topic])
        self.published[topic] += 1
        for inbox in self._routes.get(topic, ()):
            self._in_flight += 1
            self._idle.clear()
            await inbox.put(msg)

    def done(self) -> None:
        """A consumer finished handling one delivered record (and published what it made)."""
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    async def drain(self) -> None:
        """Wait until every delivered record has been handled, including those it caused."""
        await self._idle.wait()

    def depth(self) -> dict[str, int]:
        """Records waiting per stage inbox."""
        return {name: q.qsize() for name, q in self._inboxes.items()}
