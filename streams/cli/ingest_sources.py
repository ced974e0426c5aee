"""The producers behind ``netloop ingest --from ...``: each checks its flags (exit 2 naming the
flag), then feeds a bounded queue with lists of samples and rejections until done or cancelled."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from streams.cli.common import err, fail
from streams.ingest.mapping import Rules
from streams.ingest.samples import Rejected, Sample, Tally

Batches = asyncio.Queue[list[Sample | Rejected]]
Producer = Callable[[Batches], Awaitable[None]]


def prometheus_producer(rules: Rules, targets: list[str], interval_s: float, once: bool,
                        skips: Tally) -> Producer:
    """Scrape ``targets`` every ``interval_s`` (or each once)."""
    from streams.ingest.prometheus import Scrape, Scraper, TargetError, check_target

    if not targets:
        raise fail("--from prometheus needs at least one --target http://HOST:PORT/metrics")
    try:
        for t in targets:
            check_target(t)
    except TargetError as exc:
        raise fail(f"--target: {exc}") from None

    async def produce(out: Batches) -> None:
        async with httpx.AsyncClient() as client:
            scraper = Scraper(targets, rules, client=client, interval_s=interval_s, tally=skips)
            if once:
                for t in scraper.targets:
                    await out.put((await scraper.scrape(t)).items)
                return
            scrapes: asyncio.Queue[Scrape] = asyncio.Queue(out.maxsize)
            task = asyncio.create_task(scraper.run(scrapes))
            try:
                while True:
                    await out.put((await scrapes.get()).items)
            finally:
                task.cancel()

    return produce


def otlp_producer(rules: Rules, listen: str, skips: Tally) -> Producer:
    """Receive OTLP/HTTP metrics on ``listen`` (HOST:PORT; port 0 picks a free one)."""
    from streams.ingest.otlp import otlp_app

    host, _, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit() or int(port_text) > 65535:
        raise fail(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:4318")

    async def produce(out: Batches) -> None:
        import uvicorn

        try:  # bound here, not by uvicorn, which exits the process when it cannot bind
            sock = socket.create_server((host, int(port_text)),
                                        family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            raise fail(f"--listen {listen}: cannot listen there: {why}") from None
        port = sock.getsockname()[1]
        err.print(f"receiving OTLP/HTTP metrics at http://{host}:{port}/v1/metrics", highlight=False)
        server = uvicorn.Server(uvicorn.Config(otlp_app(rules, out, tally=skips), log_level="warning"))
        try:
            await server.serve(sockets=[sock])
        finally:
            sock.close()

    return produce


def pm_producer(rules: Rules, folder: Path | None, pattern: str, interval_s: float, once: bool,
                skips: Tally) -> Producer:
    """Read the PM files that land in ``folder`` (or the ones there now, once)."""
    from streams.ingest.pm import read_pm_file
    from streams.ingest.watcher import FolderWatcher, watch

    if folder is None:
        raise fail("--from pm needs --dir FOLDER")
    if not folder.is_dir():
        raise fail(f"--dir {folder}: not a folder")

    def read(path: Path) -> tuple[list[Sample | Rejected], Tally]:
        """Runs in a thread, so it counts its skips in a tally of its own."""
        own = Tally()
        return read_pm_file(path, rules, tally=own), own

    async def produce(out: Batches) -> None:
        if once:
            for path in sorted(p for p in folder.glob(pattern) if p.is_file()):
                items, own = await asyncio.to_thread(read, path)
                skips.absorb(own)
                await out.put(items)
            return
        files: asyncio.Queue[tuple[list[Sample | Rejected], Tally]] = asyncio.Queue(1)
        watching = asyncio.create_task(watch(FolderWatcher(folder, pattern=pattern), read, files,
                                             interval_s=interval_s))
        try:
            while True:
                items, own = await files.get()
                skips.absorb(own)
                await out.put(items)
        finally:
            watching.cancel()

    return produce


RECORDING_BATCH = 1000  # samples a batch of a recording holds


def recording_producer(path: Path, fmt: str, rules: Rules | None) -> Producer:
    """Read a wide (``csv``) or long CSV/TSV recording from start to end."""
    from streams.ingest.feed import sample_source
    from streams.ingest.recordings import RecordingError

    try:
        read = sample_source(path, "csv" if fmt == "csv" else "long", rules)
    except RecordingError as exc:
        raise fail(str(exc)) from None

    async def produce(out: Batches) -> None:
        batch: list[Sample | Rejected] = []
        try:
            for item in read():
                batch.append(item)
                if len(batch) >= RECORDING_BATCH:
                    await out.put(batch)
                    batch = []
        except RecordingError as exc:  # the header is read with the first sample
            raise fail(str(exc)) from None
        if batch:
            await out.put(batch)

    return produce
