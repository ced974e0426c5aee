"""The audit trail of a tool server: one record per tool call, keyed by its trace id.

Bounds: the memory keeps the last ``capacity`` records, and each record's
arguments are cut to :data:`MAX_ARGUMENTS` parameters of at most
:data:`MAX_VALUE_CHARS` characters each (the reason to 500), so a refused call
with megabytes of arguments costs the same few hundred bytes as any other.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("netloop.netmcp.audit")

CallOutcome = Literal["ok", "error", "refused", "unauthorized", "forbidden", "confirm", "replayed"]
REFUSALS: frozenset[str] = frozenset({"refused", "unauthorized", "forbidden", "confirm"})
MAX_ARGUMENTS = 16
MAX_VALUE_CHARS = 120


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
        record = replace(record, arguments=bounded_arguments(record.arguments), reason=record.reason[:500])
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


def bounded_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """``arguments`` as an audit record keeps them: at most :data:`MAX_ARGUMENTS`, long values cut.

    >>> bounded_arguments({"cell_id": "c" * 500, "tilt_deg": 4.0})["cell_id"][120:]
    '… (500 characters in all)'
    """
    kept: dict[str, Any] = {}
    for n, (name, value) in enumerate(arguments.items()):
        if n == MAX_ARGUMENTS:
            kept["…"] = f"{len(arguments) - MAX_ARGUMENTS} more parameters"
            break
        kept[_cut(str(name))] = value if _small(value) else _cut(_text(value))
    return kept


def _small(value: Any) -> bool:
    if isinstance(value, bool | float) or value is None:
        return True
    if isinstance(value, int):
        return value.bit_length() <= 64
    return isinstance(value, str) and len(value) <= MAX_VALUE_CHARS


def _text(value: Any) -> str:
    if isinstance(value, int):
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, str):
        return value
    name = type(value).__name__
    return f"{name} of {len(value)} items" if hasattr(value, "__len__") else name


def _cut(text: str) -> str:
    if len(text) <= MAX_VALUE_CHARS:
        return text
    return f"{text[:MAX_VALUE_CHARS]}… ({len(text)} characters in all)"


def jsonl_sink(path: Path) -> Callable[[AuditRecord], None]:
    """A sink that appends each record as one JSON line to ``path``."""

    def write(record: AuditRecord) -> None:
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(record), default=str) + "\n")

    return write
