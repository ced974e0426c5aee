"""Perceive: decode telemetry bytes into a validated (entities × KPIs) array, or say why not.

Values must be finite and at most :data:`MAX_ABS_VALUE` in magnitude: the
detectors compute in float32 and square residuals, and a larger value would
overflow to infinity there (and become a ``null`` anomaly downstream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from schemas import MAX_ABS_VALUE, EntityKind, TelemetryFrame, TelemetryReport, kind_of, kpi_names


class BadRecord(ValueError):
    """A record that cannot be used; ``kind`` is a bounded label for metrics."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


class PartlyUsed(BadRecord):
    """A record that was used in part: ``outs`` are what its good part produced; the rest is dead."""

    def __init__(self, kind: str, reason: str, outs: list[Any]) -> None:
        super().__init__(kind, reason)
        self.outs = outs


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
    if len(set(f.entity_ids)) != len(f.entity_ids):
        twice = sorted({e for e in f.entity_ids if f.entity_ids.count(e) > 1})
        raise BadRecord("schema", f"duplicate entity ids: {', '.join(twice[:5])}")
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
    huge = np.abs(values) > MAX_ABS_VALUE
    if huge.any():
        raise BadRecord("out_of_range", f"{int(huge.sum())} values exceed {MAX_ABS_VALUE:g} in magnitude")
