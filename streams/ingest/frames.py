"""From samples to the loop's telemetry: per-tick frames in a catalogue's column order.

Outside sources report one value at a time, at their own times, some as
counters, some late, twice, or not at all. The loop reads one frame per
shard and tick (``TelemetryFrame``: entities × the kind's KPIs). A
:class:`FrameBuilder` turns the first into the second:

- a sample's tick is ``floor((time − origin) / tick_s)``; the origin is the
  first sample's time, floored to the tick, unless given;
- the last value of a series in a tick wins; a value repeated at the time
  already seen is ignored; one older than its series' last is refused (late);
- a **counter** becomes its rate per second between consecutive samples; a
  counter that went down was reset, and its new value counts from zero (as
  Prometheus' ``rate()`` does); its first sample gives no rate yet;
- a tick closes once a sample more than ``lateness`` ticks newer has come (or at
  :meth:`FrameBuilder.flush`): its frames list the entities of each kind
  that reported in it, ``null`` for a KPI not reported (the detectors learn
  nothing from it);
- a sample whose entity matches no kind of the catalogue, or whose KPI the
  kind does not declare, is refused with the reason;
- a kind with more than ``shard_size`` entities is split into numbered shards;
  an entity stays in the shard it first went to, whoever else reports (the
  detect stage keeps an entity's state in its shard).

Every store is bounded: ``max_series`` series, ``lateness + 1`` open ticks.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from schemas import TelemetryFrame
from schemas.catalogue import Catalogue
from streams.ingest.samples import Rejected, Sample


@dataclass(slots=True)
class _Series:
    """What a series needs between samples: the last time and value (a counter's, for its rate)."""

    time_s: float
    value: float


class FrameBuilder:
    """Samples in, closed ticks' telemetry frames out (see the module).

    Parameters
    ----------
    catalogue
        The kinds and KPIs the frames use.
    tick_s
        Seconds per tick.
    origin_s
        The start of tick 0 (default: the first sample's time, floored to ``tick_s``).
    lateness
        Ticks a sample may come after a newer one and still count.
    shard_size
        Entities per frame at most; a kind with more is split into numbered shards, an entity
        staying in the one it first went to.
    max_series
        (entity, KPI) series remembered at most; samples of more are refused.

    Examples
    --------
    >>> from schemas.catalogue import builtin_catalogue
    >>> b = FrameBuilder(builtin_catalogue(), tick_s=60, lateness=0)
    >>> _ = b.add(Sample(0.0, "link-0001", "latency_ms", 5.0))
    >>> _ = b.add(Sample(61.0, "link-0001", "latency_ms", 6.0))
    >>> [(f.tick, str(f.kind), f.values) for f in b.ready()]
    [(0, 'link', [[None, 5.0, None]])]
    """

    def __init__(self, catalogue: Catalogue, *, tick_s: float, origin_s: float | None = None,
                 lateness: int = 1, shard_size: int = 1000, max_series: int = 1_000_000) -> None:
        if not (tick_s > 0 and math.isfinite(tick_s)):
            raise ValueError(f"tick_s must be a positive number of seconds, not {tick_s!r}")
        self.catalogue, self.tick_s, self.origin_s = catalogue, tick_s, origin_s
        self.lateness, self.shard_size, self.max_series = lateness, shard_size, max_series
        self._series: dict[tuple[str, str], _Series] = {}
        self._ticks: dict[int, dict[tuple[str, str], dict[str, float]]] = {}  # tick -> (kind, entity) -> kpis
        self._newest = -1
        self._closed = -1
        self._shard_of: dict[str, int] = {}  # entity -> its shard's number; entities <= series
        self._placed: Counter[str] = Counter()  # kind -> entities given a shard
        self._kind_of: dict[str, str | None] = {}  # entity -> its kind (ids regexes run once per entity)
        self._declared = {k: frozenset(catalogue.kpi_names(k)) for k in catalogue.kinds}

    def add(self, sample: Sample) -> Rejected | None:
        """Take one sample; a refused one comes back as :class:`Rejected` with the reason."""
        kind = self._kind(sample.entity)
        if kind is None:
            return _refuse(sample, f"entity {sample.entity!r} matches no kind of catalogue "
                                   f"{self.catalogue.name!r}")
        if sample.kpi not in self._declared[kind]:
            return _refuse(sample, f"kind {kind!r} declares no KPI {sample.kpi!r}")
        if self.origin_s is None:
            self.origin_s = math.floor(sample.time_s / self.tick_s) * self.tick_s
        tick = math.floor((sample.time_s - self.origin_s) / self.tick_s)
        if tick <= self._closed:
            return _refuse(sample, f"tick {tick} is closed (late by {self._closed - tick + 1} ticks or more)")
        value = self._value(sample, kind)
        if isinstance(value, Rejected) or value is None:
            return value
        self._ticks.setdefault(tick, {}).setdefault((kind, sample.entity), {})[sample.kpi] = value
        self._newest = max(self._newest, tick)
        return None

    def _kind(self, entity: str) -> str | None:
        """The entity's kind, remembered for as many entities as there may be series."""
        if entity in self._kind_of:
            return self._kind_of[entity]
        kind = self.catalogue.kind_of(entity)
        if len(self._kind_of) < self.max_series:
            self._kind_of[entity] = kind
        return kind

    def ready(self) -> list[TelemetryFrame]:
        """Frames of the ticks that can no longer change (more than ``lateness`` ticks behind the newest)."""
        return self._close(self._newest - self.lateness - 1)

    def flush(self) -> list[TelemetryFrame]:
        """Frames of every tick still open."""
        return self._close(self._newest)

    def _value(self, sample: Sample, kind: str) -> float | Rejected | None:
        key = (sample.entity, sample.kpi)
        last = self._series.get(key)
        if last is None:
            if len(self._series) >= self.max_series:
                return _refuse(sample, f"more than {self.max_series} series: not admitted")
            self._series[key] = _Series(sample.time_s, sample.value)
            counter = sample.counter or self._declared_counter(kind, sample.kpi)
            return None if counter else sample.value  # a counter's first value gives no rate yet
        if sample.time_s < last.time_s:
            return _refuse(sample, f"older than the series' last sample ({last.time_s:g} s)")
        if sample.time_s == last.time_s:
            return None  # a repeat
        counter = sample.counter or self._declared_counter(kind, sample.kpi)
        value = sample.value
        if counter:  # after a reset the counter started again from zero
            grown = value - last.value if value >= last.value else value
            value = grown / (sample.time_s - last.time_s)
        last.time_s, last.value = sample.time_s, sample.value
        return value

    def _declared_counter(self, kind: str, kpi: str) -> bool:
        return any(k.counter for k in self.catalogue.kpis(kind) if k.name == kpi)

    def _close(self, upto: int) -> list[TelemetryFrame]:
        frames = []
        for tick in sorted(t for t in self._ticks if t <= upto):
            frames.extend(self._frames(tick, self._ticks.pop(tick)))
        self._closed = max(self._closed, upto)
        return frames

    def _frames(self, tick: int, rows: dict[tuple[str, str], dict[str, float]]) -> list[TelemetryFrame]:
        shards: dict[tuple[str, int], list[str]] = defaultdict(list)
        for kind, entity in sorted(rows):
            shards[(kind, self._shard(kind, entity))].append(entity)
        frames = []
        for (kind, number), ids in sorted(shards.items()):
            names = list(self.catalogue.kpi_names(kind))
            values = [[rows[(kind, e)].get(k) for k in names] for e in ids]
            frames.append(TelemetryFrame(
                shard=f"{kind}-{number:04d}", tick=tick,
                timestamp_s=(self.origin_s or 0.0) + tick * self.tick_s, kind=kind,
                entity_ids=ids, kpis=names, values=values))
        return frames

    def _shard(self, kind: str, entity: str) -> int:
        """The entity's shard: the one it first went to (kinds fill their shards in turn)."""
        number = self._shard_of.get(entity)
        if number is None:
            number = self._shard_of[entity] = self._placed[kind] // self.shard_size
            self._placed[kind] += 1
        return number


def _refuse(sample: Sample, reason: str) -> Rejected:
    return Rejected(source="frames", reason=reason,
                    raw=f"{sample.entity} {sample.kpi} {sample.value!r} @{sample.time_s!r}".encode())
