"""Perceive: decode telemetry bytes into a validated (entities × KPIs) array, or say why not."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import ValidationError

from schemas import EntityKind, TelemetryFrame, TelemetryReport, kind_of, kpi_names


class BadRecord(ValueError):
    """A record that cannot be used; ``kind`` is a bounded label for metrics."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


@dataclass(frozen=True)
class Batch:
    """One decoded telemetry record: entity rows × KPI columns in catalogue order."""

    shard: str
    tick: int
    kind: EntityKind
    entity_ids: tuple[str, ...]
    values: np.ndarray


def decode_telemetry(raw: bytes) -> Batch:
    """Decode a :class:`TelemetryFrame` or a :class:`TelemetryReport` into a :class:`Batch`.

    Raises
    ------
    BadRecord
        Not JSON, not the schema, an unknown or missing KPI, non-finite values.
    """
    try:
        record = TelemetryFrame.decode(raw) if b'"entity_ids"' in raw else TelemetryReport.decode(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "json_invalid":
            raise BadRecord("not_json", f"not JSON: {err['msg']}") from None
        where = ".".join(str(p) for p in err["loc"])
        raise BadRecord("schema", f"schema violation at {where or 'top level'}: {err['msg']}") from None
    if isinstance(record, TelemetryReport):
        return _from_report(record)
    return _from_frame(record)


def _from_frame(f: TelemetryFrame) -> Batch:
    order = _column_order(f.kind, f.kpis)
    values = np.asarray(f.values, dtype=float)[:, order]
    _check_finite(values)
    return Batch(f.shard, f.tick, f.kind, tuple(f.entity_ids), values)


def _from_report(r: TelemetryReport) -> Batch:
    try:
        kind = kind_of(r.entity_id)
    except ValueError:
        raise BadRecord("schema", f"entity id {r.entity_id!r} has no known kind prefix") from None
    names = list(r.kpis)
    order = _column_order(kind, names)
    values = np.asarray([[r.kpis[n] for n in names]], dtype=float)[:, order]
    _check_finite(values)
    return Batch(f"entity:{r.entity_id}", r.tick, kind, (r.entity_id,), values)


def _column_order(kind: EntityKind, kpis: list[str]) -> list[int]:
    if kind not in (EntityKind.CELL, EntityKind.LINK, EntityKind.UPF, EntityKind.SMF, EntityKind.AMF):
        raise BadRecord("schema", f"entities of kind {kind.value!r} report no KPIs")
    expected = kpi_names(kind)
    unknown = sorted(set(kpis) - set(expected))
    if unknown:
        raise BadRecord("unknown_kpi", f"unknown KPIs for {kind.value}: {', '.join(unknown)}")
    missing = [k for k in expected if k not in kpis]
    if missing:
        raise BadRecord("missing_kpi", f"missing KPIs for {kind.value}: {', '.join(missing)}")
    if len(set(kpis)) != len(kpis):
        raise BadRecord("schema", "duplicate KPI names")
    return [kpis.index(k) for k in expected]


def _check_finite(values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise BadRecord("non_finite", f"{int(bad.sum())} values are NaN or infinite")


class FrameOrder:
    """Each shard's frames in tick order, once: a duplicate or a frame older than one already
    scored is refused (the detectors' baselines move forward only), so it goes to the dead-letter
    topic with its bytes instead of being scored twice or out of order. Bounded by the shards seen."""

    def __init__(self, *, max_shards: int = 100_000) -> None:
        self._last: dict[tuple[str, EntityKind], int] = {}
        self._max = max_shards

    def admit(self, batch: Batch) -> None:
        """Take ``batch`` as its shard's newest frame, or raise :class:`BadRecord`."""
        key = (batch.shard, batch.kind)
        last = self._last.get(key)
        if last is not None and batch.tick == last:
            raise BadRecord("duplicate", f"duplicate frame: tick {batch.tick} of {batch.shard} was scored")
        if last is not None and batch.tick < last:
            raise BadRecord("late", f"late frame: tick {batch.tick} of {batch.shard} arrived after tick "
                                    f"{last} was scored")
        if last is None and len(self._last) >= self._max:
            self._last.pop(next(iter(self._last)))
        self._last[key] = batch.tick
