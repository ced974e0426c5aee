"""The loop's report on a real recording, scored against labelled faults.

A labels file is JSON Lines, one fault a line: ``{"start", "end", "root_cause", "type"?}``, times in
the recording's clock (epoch seconds or ISO 8601). Incidents are matched to faults by when they
opened: an incident opened from a fault's start tick to ``grace`` ticks after its end belongs to
that fault (to the latest-starting one when windows overlap); any other incident is a false one.
A fault is detected when an incident belongs to it, and localized top-1 (top-3) when the first of
them names its root cause first (among its first three candidates). Time to detect is the ticks
from the fault's start to that first incident. The field names are the run report's where they
mean the same (``faults_injected`` is the labelled faults).
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_GRACE_TICKS = 5


class LabelsError(ValueError):
    """A labels file that cannot be used; the message names the line and the field."""


class Label(BaseModel):
    """One labelled fault."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    start: float
    end: float
    root_cause: str = Field(min_length=1)
    type: str | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, v: object) -> float:
        if isinstance(v, str):
            try:
                ts = datetime.fromisoformat(v)
            except ValueError:
                raise ValueError(f"{v!r} is neither epoch seconds nor ISO 8601") from None
            return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp()
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"{v!r} is not a time")
        return float(v)


def read_labels(path: Path) -> list[Label]:
    """The labels of a JSON Lines file, sorted by start."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise LabelsError(f"{path}: cannot read: {exc.strerror}") from None
    out = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            label = Label.model_validate(json.loads(line))
        except ValueError as exc:
            raise LabelsError(f"{path}: line {n}: {_why(exc)}") from None
        if label.end < label.start:
            raise LabelsError(f"{path}: line {n}: end: before start")
        out.append(label)
    return sorted(out, key=lambda x: x.start)


def _why(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        return f"{where}: {err['msg'].removeprefix('Value error, ')}"
    return f"not JSON: {exc}"


class Opened(BaseModel):
    """An incident as the score needs it: when it opened and its candidates, best first."""

    opened_tick: int
    candidates: list[str]
    fault_type: str | None = None


class FaultOutcome(BaseModel):
    """One labelled fault and what the loop made of it."""

    model_config = ConfigDict(extra="forbid")

    start_tick: int
    root_cause: str
    type: str | None
    detected: bool
    ttd_ticks: int | None
    candidates: list[str]
    fault_type: str | None


class LabelledScore(BaseModel):
    """The loop's report on a recording against its labels."""

    model_config = ConfigDict(extra="forbid")

    faults_injected: int
    faults_detected: int
    faults_localized_top1: int
    faults_localized_top3: int
    mttd_ticks: float | None
    incidents_opened: int
    false_incidents: int
    grace_ticks: int
    faults: list[FaultOutcome]


def score(incidents: Sequence[Opened], labels: Sequence[Label], tick_of: Callable[[float], int], *,
          grace_ticks: int = DEFAULT_GRACE_TICKS) -> LabelledScore:
    """Match incidents to labelled faults by when they opened (see the module) and count.

    >>> labels = [Label(start=0, end=60, root_cause="r1"), Label(start=600, end=660, root_cause="r2")]
    >>> opened = [Opened(opened_tick=2, candidates=["r1"]), Opened(opened_tick=30, candidates=["r3"])]
    >>> s = score(opened, labels, lambda t: int(t // 60))
    >>> s.faults_detected, s.faults_localized_top1, s.false_incidents, s.mttd_ticks
    (1, 1, 1, 2.0)
    """
    windows = [(tick_of(x.start), tick_of(x.end) + grace_ticks) for x in labels]
    starts = [w[0] for w in windows]
    first: dict[int, Opened] = {}
    false = 0
    for inc in sorted(incidents, key=lambda i: i.opened_tick):
        i = bisect.bisect_right(starts, inc.opened_tick) - 1
        while i >= 0 and windows[i][1] < inc.opened_tick:
            i -= 1  # an earlier fault's window may still be open
        if i < 0:
            false += 1
            continue
        first.setdefault(i, inc)
    faults = []
    for i, (label, (start, _)) in enumerate(zip(labels, windows, strict=True)):
        inc = first.get(i)
        faults.append(FaultOutcome(
            start_tick=start, root_cause=label.root_cause, type=label.type, detected=inc is not None,
            ttd_ticks=inc.opened_tick - start if inc else None, candidates=inc.candidates[:3] if inc else [],
            fault_type=inc.fault_type if inc else None))
    found = [f for f in faults if f.detected]
    ttd = [f.ttd_ticks for f in found if f.ttd_ticks is not None]
    return LabelledScore(
        faults_injected=len(labels), faults_detected=len(found),
        faults_localized_top1=sum(f.candidates[:1] == [f.root_cause] for f in found),
        faults_localized_top3=sum(f.root_cause in f.candidates[:3] for f in found),
        mttd_ticks=round(sum(ttd) / len(ttd), 2) if ttd else None,
        incidents_opened=len(incidents), false_incidents=false, grace_ticks=grace_ticks, faults=faults)
