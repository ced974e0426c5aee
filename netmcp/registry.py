"""The registry of NetMCP tool servers: who offers which tools, where, and how loaded.

Tool servers register a :class:`ServerRecord` and then report their load,
which doubles as a heartbeat. Discovery answers "which tools fit this task in
this service area, and which server should I call": tools ranked by
:class:`~netmcp.search.ToolIndex`, each with the live servers offering it, the
least utilised (load / max_load) first. A server not heard from within the
heartbeat timeout drops out of discovery but stays listed as not alive.

Pure Python on an injected clock; :mod:`netmcp.management` puts it behind HTTP.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from netmcp.search import ToolIndex, text_similarity, tool_text

# Below this TF-IDF similarity a tool's text is not close to a server's summary. Measured with the
# simulator's 13 status and remediation tools against one-line RAN, core and transport summaries:
# tools of the server's domain scored 0.01-0.24 (half above 0.1), the others 0.002-0.08. The
# threshold errs towards refusing; a shared label is the reliable way in.
ACCEPT_SIMILARITY = 0.1

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_TOOL_NAME = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"


class InvalidRecord(ValueError):
    """A server record or change that does not validate; the message names each field."""


class UnknownServer(LookupError):
    """No server is registered under this id."""


class ToolDescriptor(BaseModel):
    """A tool as the registry knows it: enough to find it and to route a call to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_TOOL_NAME, description="MCP tool name, e.g. restart_cell")
    description: str = Field(min_length=1, description="What the tool does, in a sentence or two")
    labels: tuple[str, ...] = Field(default=(), description="Free labels, e.g. ran, recovery")
    category: str = Field(default="", description="Category, e.g. remediation or observation")
    domain: str = Field(default="", description="Network domain, e.g. ran, core, transport")


class ServerRecord(BaseModel):
    """A tool server's registration. Unknown fields are refused, so a typo is caught at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    server_id: str = Field(pattern=_ID, description="Stable id, unique in the registry")
    url: str = Field(description="Where MCP clients reach the server (streamable HTTP URL)")
    vendor: str = Field(min_length=1)
    max_load: float = Field(gt=0, allow_inf_nan=False, description="Calls per second it can take")
    service_area: tuple[str, ...] = Field(min_length=1, description="Area names it serves")
    summary: str = Field(default="", description="Its capabilities in natural language")
    labels: tuple[str, ...] = ()
    tools: tuple[ToolDescriptor, ...] = ()

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        return url

    @field_validator("tools")
    @classmethod
    def _unique_tool_names(cls, tools: tuple[ToolDescriptor, ...]) -> tuple[ToolDescriptor, ...]:
        names = [t.name for t in tools]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"tool names must be unique; repeated: {', '.join(twice)}")
        return tools


class ServerStatus(BaseModel):
    """A registered server as listed: its record, last reported load and liveness."""

    model_config = ConfigDict(frozen=True)

    record: ServerRecord
    load: float = Field(description="Last reported load, calls per second")
    utilisation: float = Field(description="load / max_load")
    last_seen: float = Field(description="When it was last heard from, clock seconds")
    alive: bool


class Offer(BaseModel):
    """One server offering a discovered tool."""

    model_config = ConfigDict(frozen=True)

    server_id: str
    url: str
    vendor: str
    load: float
    max_load: float
    utilisation: float = Field(description="load / max_load; callers prefer the lowest")


class Discovery(BaseModel):
    """A discovered tool, its relevance to the task, and its servers (least utilised first)."""

    model_config = ConfigDict(frozen=True)

    tool: ToolDescriptor
    score: float | None = Field(description="Relevance to the task in [0, 1]; None without a task")
    servers: tuple[Offer, ...]


@dataclass
class _Entry:
    record: ServerRecord
    load: float
    last_seen: float

    def offer(self) -> Offer:
        r = self.record
        return Offer(server_id=r.server_id, url=r.url, vendor=r.vendor, load=self.load,
                     max_load=r.max_load, utilisation=self.load / r.max_load)


def parse_record(data: Any) -> ServerRecord:
    """A :class:`ServerRecord` from JSON-shaped ``data``; :class:`InvalidRecord` naming the fields."""
    try:
        return ServerRecord.model_validate(data)
    except ValidationError as e:
        raise InvalidRecord(describe(e)) from None


def describe(error: ValidationError) -> str:
    """A pydantic error as ``field: problem; field: problem``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg'].removeprefix('Value error, ')}"
        for err in error.errors())


class Registry:
    """Registered tool servers, their load and liveness, and discovery over them.

    Parameters
    ----------
    clock
        Seconds since the epoch.
    heartbeat_timeout_s
        A server not heard from (registration, update or load report) for longer
        is left out of discovery.
    max_servers
        Registrations kept at most; a new server beyond it is refused.
    """

    def __init__(self, clock: Callable[[], float] = time.time, *, heartbeat_timeout_s: float = 15.0,
                 max_servers: int = 1000) -> None:
        self.clock, self.heartbeat_timeout_s, self.max_servers = clock, heartbeat_timeout_s, max_servers
        self._entries: dict[str, _Entry] = {}
        self._index: ToolIndex | None = None

    def register(self, record: ServerRecord) -> None:
        """Add a server, or replace its record when it registers again (e.g. after a restart)."""
        if record.server_id not in self._entries and len(self._entries) >= self.max_servers:
            raise InvalidRecord(f"server_id: the registry is full ({self.max_servers} servers)")
        self._entries[record.server_id] = _Entry(record, load=0.0, last_seen=self.clock())
        self._index = None

    def update(self, server_id: str, /, **changes: Any) -> ServerRecord:
        """Change fields of a registered server's record; the new record."""
        entry = self._entry(server_id)
        if changes.get("server_id", server_id) != server_id:
            raise InvalidRecord("server_id: cannot change; deregister and register instead")
        entry.record = parse_record(entry.record.model_dump() | changes)
        entry.last_seen = self.clock()
        self._index = None
        return entry.record

    def deregister(self, server_id: str) -> None:
        """Remove a server."""
        self._entry(server_id)
        del self._entries[server_id]
        self._index = None

    def report_load(self, server_id: str, load: float) -> None:
        """Record a server's current load in calls per second; also a heartbeat."""
        if not isinstance(load, int | float) or isinstance(load, bool) or not math.isfinite(load) \
                or load < 0:
            raise InvalidRecord(f"load: must be a finite number >= 0, got {load!r}")
        entry = self._entry(server_id)
        entry.load, entry.last_seen = float(load), self.clock()

    def get(self, server_id: str) -> ServerRecord:
        """The record of a registered server."""
        return self._entry(server_id).record

    def servers(self) -> list[ServerStatus]:
        """Every registered server, alive or not, by id."""
        return [ServerStatus(record=e.record, load=e.load, utilisation=e.load / e.record.max_load,
                             last_seen=e.last_seen, alive=self._alive(e))
                for _, e in sorted(self._entries.items())]

    def discover(self, area: str | None = None, task: str | None = None, tool: str | None = None,
                 k: int = 5) -> list[Discovery]:
        """Tools offered by live servers in ``area`` (any area when None).

        With ``task``, the ``k`` tools most relevant to it, best first; without,
        every tool by name. ``tool`` keeps only the tool of that name. Each tool
        lists its servers least utilised first (ties by server id).
        """
        if k < 1:
            raise InvalidRecord(f"k: must be >= 1, got {k}")
        offers: dict[str, list[Offer]] = {}
        descriptors: dict[str, ToolDescriptor] = {}
        for entry in self._entries.values():
            if not self._alive(entry) or (area is not None and area not in entry.record.service_area):
                continue
            for t in entry.record.tools:
                if tool is None or t.name == tool:
                    descriptors.setdefault(t.name, t)
                    offers.setdefault(t.name, []).append(entry.offer())
        ranked = self._rank(task, set(offers))[:k] if task else [(n, None) for n in sorted(offers)]
        return [Discovery(tool=descriptors[name], score=score,
                          servers=tuple(sorted(offers[name], key=lambda o: (o.utilisation, o.server_id))))
                for name, score in ranked]

    def _rank(self, task: str, offered: set[str]) -> list[tuple[str, float | None]]:
        if self._index is None:
            self._index = ToolIndex(t for e in self._entries.values() for t in e.record.tools)
        everything = self._index.search(task, k=len(self._index.names))
        return [(name, score) for name, score in everything if name in offered]

    def _alive(self, entry: _Entry) -> bool:
        return self.clock() - entry.last_seen <= self.heartbeat_timeout_s

    def _entry(self, server_id: str) -> _Entry:
        try:
            return self._entries[server_id]
        except KeyError:
            raise UnknownServer(f"no server registered as {server_id!r}") from None


def accepts_tool(server_labels: Sequence[str], server_summary: str, tool: ToolDescriptor, *,
                 threshold: float = ACCEPT_SIMILARITY) -> tuple[bool, str]:
    """Whether a tool server of this scope accepts ``tool`` from an NF, and why.

    Accepted when the tool shares a label with the server, or when the tool's
    text is at least ``threshold`` similar (TF-IDF) to the server's summary.
    """
    shared = sorted(set(tool.labels) & set(server_labels))
    if shared:
        return True, f"shares label(s) {', '.join(shared)} with the server"
    similarity = text_similarity(tool_text(tool), server_summary)
    if similarity >= threshold:
        return True, f"description matches the server's summary (similarity {similarity:.2f})"
    return False, (f"no shared label (tool: {', '.join(tool.labels) or 'none'}; server: "
                   f"{', '.join(server_labels) or 'none'}) and description unlike the server's summary "
                   f"(similarity {similarity:.2f} < {threshold:.2f})")
