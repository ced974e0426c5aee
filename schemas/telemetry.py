"""Telemetry records: columnar frames (the normal case) and per-entity reports."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from schemas import topics
from schemas.base import MAX_TICK, Record
from schemas.kpis import Kind

MAX_ABS_VALUE = 1e18
"""Largest KPI magnitude a consumer uses: its square stays inside float32's range (3.4e38), where
the detectors compute; perceive dead-letters a frame holding a larger one, and the twin skips it."""


class TelemetryFrame(Record):
    """One tick of many entities of one kind, columnar.

    ``values[i][j]`` is KPI ``kpis[j]`` of entity ``entity_ids[i]``, ``null`` where it was not
    measured. One frame per shard per tick pays the per-record cost of the bus once for many
    entities. ``kind`` is a kind of the deployment's catalogue (the simulated network's: cell,
    link, upf, smf, amf).
    """

    topic = topics.TELEMETRY

    shard: str = Field(description="partition key, e.g. 'sites-0001-0016'")
    tick: int = Field(ge=0, le=MAX_TICK, description="simulation tick (or epoch-aligned interval index)")
    timestamp_s: float = Field(description="seconds since the start of the run or epoch")
    kind: Kind = Field(description="the entities' kind, as the catalogue declares it")
    entity_ids: list[str] = Field(min_length=1)
    kpis: list[str] = Field(min_length=1)
    values: list[list[float | None]] = Field(description="len(entity_ids) rows of len(kpis) values; "
                                                         "null: not measured this tick")

    @model_validator(mode="after")
    def _check_shape(self) -> Self:
        n, k = len(self.entity_ids), len(self.kpis)
        if len(self.values) != n:
            raise ValueError(f"values has {len(self.values)} rows for {n} entity_ids")
        for i, row in enumerate(self.values):
            if len(row) != k:
                raise ValueError(f"values row {i} has {len(row)} columns for {k} kpis")
        return self


class TelemetryReport(Record):
    """KPIs of one entity at one tick, for simple producers."""

    topic = topics.TELEMETRY

    entity_id: str
    tick: int = Field(ge=0, le=MAX_TICK)
    timestamp_s: float
    kpis: dict[str, float] = Field(min_length=1)


MAX_PARTITIONS = 10_000
"""More partitions than any topic of the loop has (Kafka clusters advise well under this)."""


class TickMark(Record):
    """A watermark: every record of tick ``tick_closed`` before this one on its partition is in.

    The emulator writes one to each telemetry partition after a tick's frames;
    detect forwards one per source partition to ``netloop.anomalies``, so a
    consumer of anomalies knows a tick is complete once it holds the marks of
    all ``partitions`` telemetry partitions.
    """

    topic = topics.TELEMETRY

    tick_closed: int = Field(ge=0, le=MAX_TICK)
    source_partition: int | None = Field(default=None, ge=0, lt=MAX_PARTITIONS)
    partitions: int = Field(ge=1, le=MAX_PARTITIONS, description="telemetry partitions a tick is spread over")
