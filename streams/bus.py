"""The embedded bus: topics fan out to per-stage inboxes, bounded queues, in one event loop.

Each stage has one inbox for all the topics it subscribes to, so it sees
records in publish order. ``publish`` waits while an inbox is full: a fast
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


class EmbeddedBus:
    """Topic fan-out to bounded inboxes."""

    def __init__(self, *, maxsize: int = 4096) -> None:
        self.maxsize = maxsize
        self._inboxes: dict[str, asyncio.Queue[Message]] = {}
        self._routes: dict[str, list[asyncio.Queue[Message]]] = defaultdict(list)
        self.published: Counter[str] = Counter()

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
            await inbox.put(msg)

    async def drain(self) -> None:
        """Wait until every inbox is empty and every record taken has been handled."""
        while any(q.qsize() or q._unfinished_tasks for q in self._inboxes.values()):
            for q in self._inboxes.values():
                await q.join()

    def depth(self) -> dict[str, int]:
        """Records waiting per stage inbox."""
        return {name: q.qsize() for name, q in self._inboxes.items()}
