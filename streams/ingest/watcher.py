"""Watching a folder for new files (PM exports land in one), each handed on once.

A file is new when its name matches and it was not read before; it is handed on once its
size and modification time are the same on two polls in a row, so a file still being
written is not read half-way. What was read is remembered by name, for the last
``remember`` files; past that the oldest are forgotten and their modification time becomes
a floor: a file no newer than the floor counts as read. At most ``remember`` files wait to
settle at a time (a backlog is handed on that many per poll). So memory stays bounded, and a
folder that keeps its old files is not read again — but a file copied in with an old
modification time (older than the forgotten ones) is missed, and a file rewritten in place
under the same name is not read again.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class FolderWatcher:
    """New files in ``folder`` whose names match ``pattern``, oldest first, each once.

    Parameters
    ----------
    folder
        Where the files land.
    pattern
        A shell pattern for their names (``fnmatch``), e.g. ``"A*.xml*"``.
    remember
        How many read files to remember by name (memory stays bounded by it).
    """

    def __init__(self, folder: Path, *, pattern: str = "*", remember: int = 10_000) -> None:
        self.folder, self.pattern, self.remember = folder, pattern, remember
        self._read: OrderedDict[str, int] = OrderedDict()  # name -> mtime_ns, in reading order
        self._floor_ns = -1
        self._last: dict[str, tuple[int, int]] = {}  # name -> (size, mtime_ns) at the last poll

    def poll(self) -> list[Path]:
        """The files that are new and settled since the last poll; a missing folder has none."""
        now = {name: sig for name, sig in self._listing().items()
               if name not in self._read and sig[1] > self._floor_ns}
        settled = (n for n, sig in now.items() if self._last.get(n) == sig)
        ready = sorted(settled, key=lambda n: (now[n][1], n))
        for name in ready:
            self._remember(name, now[name][1])
        waiting = sorted((n for n in now if n not in self._read), key=lambda n: now[n][1])
        self._last = {n: now[n] for n in waiting[: self.remember]}
        return [self.folder / n for n in ready]

    def _listing(self) -> dict[str, tuple[int, int]]:
        found = {}
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    if fnmatch.fnmatchcase(entry.name, self.pattern) and entry.is_file():
                        st = entry.stat()
                        found[entry.name] = (st.st_size, st.st_mtime_ns)
        except OSError:
            return {}
        return found

    def _remember(self, name: str, mtime_ns: int) -> None:
        self._read[name] = mtime_ns
        while len(self._read) > self.remember:
            _, forgotten = self._read.popitem(last=False)
            self._floor_ns = max(self._floor_ns, forgotten)


async def watch(watcher: FolderWatcher, read: Callable[[Path], T], out: asyncio.Queue[T], *,
                interval_s: float = 10.0,
                sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Poll ``watcher`` every ``interval_s`` seconds until cancelled; put ``read(path)`` of each new
    file on the bounded queue ``out`` (reading runs in a thread: it may parse megabytes)."""
    while True:
        for path in watcher.poll():
            await out.put(await asyncio.to_thread(read, path))
        await sleep(interval_s)
