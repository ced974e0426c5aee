"""What every adapter produces: :class:`Sample` for a measurement it could use, :class:`Rejected`
for input it could not (bound for the dead-letter topic), and a :class:`Tally` of what it skipped
on purpose (a missing or suspect value, a series no rule wants)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

RAW_LIMIT_BYTES = 64 * 1024
REASON_LIMIT_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement of one KPI of one entity, as an outside source reported it.

    Parameters
    ----------
    time_s
        When it was measured: seconds since the epoch (or the recording's own clock).
    entity, kpi
        Named by the adapter's mapping rules.
    value
        The measurement; always finite (a non-finite one never becomes a sample).
    counter
        A monotonic counter: the frame builder turns it into a rate.

    Examples
    --------
    >>> Sample(1.5, "cell-1", "prb_utilization_ratio", 0.4)
    Sample(time_s=1.5, entity='cell-1', kpi='prb_utilization_ratio', value=0.4, counter=False)
    """

    time_s: float
    entity: str
    kpi: str
    value: float
    counter: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value) and math.isfinite(self.time_s)):
            raise ValueError(f"sample {self.entity}/{self.kpi}: value and time must be finite")

    def as_json(self) -> dict[str, object]:
        """The sample as a JSON object with the field names above."""
        return {"time_s": self.time_s, "entity": self.entity, "kpi": self.kpi, "value": self.value,
                "counter": self.counter}


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input an adapter could not use, with the reason (it goes to the dead-letter topic).

    ``raw`` is cut to its first 64 KiB and ``reason`` to 1000 characters, so a hostile
    input cannot make a dead letter as large as itself.

    Examples
    --------
    >>> r = Rejected("pm:/x.xml", "line 3: no value", b"x" * 100_000)
    >>> len(r.raw)
    65536
    """

    source: str
    reason: str
    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) > RAW_LIMIT_BYTES:
            object.__setattr__(self, "raw", bytes(self.raw[:RAW_LIMIT_BYTES]))
        if len(self.reason) > REASON_LIMIT_CHARS:
            object.__setattr__(self, "reason", self.reason[:REASON_LIMIT_CHARS - 1] + "…")


@dataclass(slots=True)
class Tally:
    """Counts of what an adapter read: samples, rejections, and values skipped on purpose by why.

    The reasons are a few fixed phrases (``"unmatched"``, ``"suspect"``, ...), never a label
    value, so the tally stays small however long the stream.
    """

    samples: int = 0
    rejected: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def count(self, item: Sample | Rejected) -> Sample | Rejected:
        """Count ``item`` as a sample or a rejection and hand it back."""
        if isinstance(item, Sample):
            self.samples += 1
        else:
            self.rejected += 1
        return item

    def skip(self, why: str, n: int = 1) -> None:
        """Count ``n`` values skipped for the reason ``why``."""
        self.skipped[why] += n

    def absorb(self, other: Tally) -> None:
        """Add ``other``'s counts to these (a file read in a thread keeps its own tally)."""
        self.samples += other.samples
        self.rejected += other.rejected
        self.skipped.update(other.skipped)
