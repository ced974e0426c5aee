"""The audit trail of a tool server: one record per tool call, keyed by its trace id."""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("netloop.netmcp.audit")

CallOutcome = Literal["ok", "error", "refused", "unauthorized", "forbidden", "confirm", "replayed"]
REFUSALS: frozenset[str] = frozenset({"refused", "unauthorized", "forbidden", "confirm"})


@dataclass(frozen=True)
class AuditRecord:
    """What happened to one tool call, and why."""

    trace_id: str
    server_id: str
    client_id: str
    tool: str
    arguments: dict[str, Any]
    outcome: CallOutcome
    reason: str = ""
    action_id: str | None = None
    context_id: str | None = None
    at: float = field(default_factory=time.time)


class AuditLog:
    """The last ``capacity`` records in memory, and every record to ``sink`` when given.

    Refused calls are also logged (logger ``netloop.netmcp.audit``, level warning).
    """

    def __init__(self, *, capacity: int = 10_000, sink: Callable[[AuditRecord], None] | None = None) -> None:
        self._records: deque[AuditRecord] = deque(maxlen=capacity)
        self._sink = sink
        self.total = 0
        """Records ever added (the memory keeps only the last ``capacity``)."""

    def add(self, record: AuditRecord) -> None:
        self._records.append(record)
        self.total += 1
        if record.outcome in REFUSALS:
            log.warning("%s %s by %s refused (%s): %s", record.trace_id, record.tool, record.client_id,
                        record.outcome, record.reason)
        if self._sink is not None:
            self._sink(record)

    def __iter__(self) -> Iterator[AuditRecord]:
        return iter(tuple(self._records))

    def __len__(self) -> int:
        return len(self._records)

    def trace(self, trace_id: str) -> list[AuditRecord]:
        """Every record of one trace id."""
        return [r for r in self._records if r.trace_id == trace_id]


def jsonl_sink(path: Path) -> Callable[[AuditRecord], None]:
    """A sink that appends each record as one JSON line to ``path``."""

    def write(record: AuditRecord) -> None:
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(record), default=str) + "\n")

    return write
