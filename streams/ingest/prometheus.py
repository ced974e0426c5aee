"""Scraping Prometheus targets at an interval into samples (the text format: :mod:`.exposition`).

One task per target. A target that is down, answers with an error status or sends more than
``max_body_bytes`` gives one :class:`Rejected` for the scrape, and the next try waits twice as
long as the last (up to ``max_backoff_s``); the first good scrape restores the interval.
Each scrape's items go to the caller's bounded queue as one list, so a slow consumer slows
the scraping instead of growing memory. Every line without an ``instance`` label gets the
target's ``host:port`` as one, as Prometheus adds it (the line's own wins).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from streams.ingest.exposition import parse_exposition
from streams.ingest.mapping import Rules
from streams.ingest.samples import Rejected, Sample, Tally

ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"
MAX_BODY_BYTES = 32 * 1024 * 1024
_PORTS = {"http": 80, "https": 443}


class TargetError(ValueError):
    """A scrape target that is not an http(s) URL."""


@dataclass(frozen=True, slots=True)
class Scrape:
    """What one scrape of one target gave: its items, and whether the target answered well."""

    target: str
    up: bool
    items: list[Sample | Rejected]


def check_target(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else :class:`TargetError` saying why."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise TargetError(f"target {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise TargetError(f"target {url!r}: expected http://HOST:PORT/PATH")
    return url


def backoff_s(interval_s: float, failures: int, max_backoff_s: float) -> float:
    """The wait before the next scrape after ``failures`` failed scrapes in a row.

    Examples
    --------
    >>> [backoff_s(10, n, 60) for n in range(5)]
    [10, 20, 40, 60, 60]
    """
    return min(max_backoff_s, interval_s * 2 ** min(failures, 32)) if failures else interval_s


class Scraper:
    """Scrapes ``targets`` with ``client`` every ``interval_s`` seconds into samples by ``rules``.

    Parameters
    ----------
    targets
        http(s) URLs of ``/metrics`` endpoints.
    rules
        Name each series' entity and KPI.
    client
        The HTTP client (injected: tests pass one over a mock or a real loopback server).
    interval_s, timeout_s, max_backoff_s
        Seconds between scrapes, for one whole scrape, and at most between tries at a failing target.
    max_body_bytes
        A larger exposition (after decompression) is rejected, not read.
    clock, sleep
        The scrape time when a line has no timestamp, and how to wait (injected for tests).
    tally
        Where skipped values are counted (default: a new one, ``self.tally``).
    """

    def __init__(self, targets: Sequence[str], rules: Rules, *, client: httpx.AsyncClient,
                 interval_s: float = 15.0, timeout_s: float = 10.0, max_backoff_s: float = 300.0,
                 max_body_bytes: int = MAX_BODY_BYTES, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 tally: Tally | None = None) -> None:
        self.targets = [check_target(t) for t in targets]
        self.rules, self.client = rules, client
        self.interval_s, self.timeout_s, self.max_backoff_s = interval_s, timeout_s, max_backoff_s
        self.max_body_bytes, self.clock, self.sleep = max_body_bytes, clock, sleep
        self.tally = tally if tally is not None else Tally()

    async def scrape(self, target: str) -> Scrape:
        """Scrape ``target`` once; never raises for what the target does."""
        source, now = f"prometheus:{target}", self.clock()
        try:
            async with asyncio.timeout(self.timeout_s), self.client.stream(
                    "GET", target, headers={"accept": ACCEPT}, timeout=self.timeout_s) as resp:
                body = await self._read(resp)
        except TimeoutError:  # the whole scrape, not one read: a drip-feeding target is cut off too
            reason = f"scrape took longer than {self.timeout_s} s"
            return Scrape(target, False, [Rejected(source, reason, b"")])
        except httpx.HTTPError as exc:
            reason = f"scrape failed: {type(exc).__name__}: {exc}".rstrip(": ")
            return Scrape(target, False, [Rejected(source, reason, b"")])
        if body is None:
            return Scrape(target, False, [Rejected(source, f"exposition larger than "
                                                           f"{self.max_body_bytes} bytes", b"")])
        if resp.status_code != 200:
            return Scrape(target, False, [Rejected(source, f"HTTP {resp.status_code}", body)])
        url = httpx.URL(target)
        instance = {"instance": f"{url.host}:{url.port or _PORTS[url.scheme]}"}
        return Scrape(target, True, parse_exposition(body, self.rules, source=source, scrape_time_s=now,
                                                     tally=self.tally, target_labels=instance))

    async def _read(self, resp: httpx.Response) -> bytes | None:
        chunks, size = [], 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def run(self, out: asyncio.Queue[Scrape]) -> None:
        """Scrape every target until cancelled, putting each :class:`Scrape` on ``out``."""
        async with asyncio.TaskGroup() as group:
            for target in self.targets:
                group.create_task(self._follow(target, out))

    async def _follow(self, target: str, out: asyncio.Queue[Scrape]) -> None:
        failures = 0
        while True:
            scrape = await self.scrape(target)
            failures = 0 if scrape.up else failures + 1
            await out.put(scrape)
            await self.sleep(backoff_s(self.interval_s, failures, self.max_backoff_s))
