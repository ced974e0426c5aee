"""The audit trail: every decision record, appended to a JSON Lines file a human can read back.

:class:`AuditTap` is a stage on ``netloop.decisions`` that appends each record
as one line and flushes it (append-only: a crash loses at most the line being
written). :func:`read_audit` and :func:`audit_lines` serve ``netloop audit``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

from schemas import DecisionRecord, topics
from streams.runtime.bus import Message


class AuditTap:
    """Appends every decision record to an open text file, one JSON object per line."""

    name = "audit"
    topics = (topics.DECISIONS,)

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    async def handle(self, msg: Message) -> list:
        record = DecisionRecord.decode(msg.value)  # refuses what is not a decision record
        self.out.write(record.model_dump_json() + "\n")
        self.out.flush()
        return []

    async def on_tick(self, tick: int) -> list:
        return []


def read_audit(path: Path, incident: str | None = None) -> Iterator[DecisionRecord]:
    """The records of an audit file, in order; only ``incident``'s when given."""
    with path.open() as f:
        for line in f:
            if line.strip():
                record = DecisionRecord.decode(line)
                if incident is None or record.incident_id == incident:
                    yield record


def audit_lines(record: DecisionRecord) -> list[str]:
    """A record as a few lines of text: what was decided, why, and with what safeguards."""
    target = f" {record.target}" if record.target else ""
    what = f" {record.tool} on{target}" if record.tool else target
    conf = f" (confidence {record.confidence:.2f})" if record.confidence is not None else ""
    lines = [f"tick {record.tick} {record.incident_id} {record.stage}: {record.decision.value}{what}{conf}",
             f"    {record.explanation}"]
    if record.plan:
        steps = "; ".join(s.strip() for s in record.plan)
        lines.append(f"    plan ({record.workflow or 'single call'}): {steps}")
    if record.guards:
        lines.append("    guards: " + ", ".join(f"{g.guard} {'ok' if g.allowed else 'REFUSED'}"
                                              for g in record.guards))
    if record.twin is not None:
        t = record.twin
        came = {True: ", came true", False: ", did not come true", None: ""}[record.twin_came_true]
        lines.append(f"    twin: {t.improvement:+.1f} sigma-ticks over {t.horizon_ticks} ticks"
                     f" ({'improves' if t.improves else 'no improvement'}){came}")
    if record.outcome:
        lines.append(f"    outcome: {record.outcome}")
    return lines
