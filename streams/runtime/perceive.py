"""Perceive: decode telemetry bytes into a validated (entities × KPIs) array, or say why not.

The kind and its KPIs are the deployment's catalogue's
(:class:`~schemas.catalogue.Catalogue`; by default the simulated network's).
Values must be finite and at most :data:`MAX_ABS_VALUE` in magnitude: the
detectors compute in float32 and square residuals, and a larger value would
overflow to infinity there (and become a ``null`` anomaly downstream). A
``null`` value was not measured: the batch's ``present`` mask says so, and
the detectors learn nothing from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from schemas import MAX_ABS_VALUE, TelemetryFrame, TelemetryReport
from schemas.catalogue import Catalogue, builtin_catalogue
from schemas.kpis import as_kind


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
    """One decoded telemetry record: entity rows × KPI columns in catalogue order.

    ``present`` (N×K booleans) is None when every value was measured; else False where a value
    was ``null`` (its place in ``values`` holds NaN).
    """

    shard: str
    tick: int
    kind: str
    entity_ids: tuple[str, ...]
    values: np.ndarray
    present: np.ndarray | None = None


def decode_telemetry(raw: bytes, catalogue: Catalogue | None = None) -> Batch:
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
    catalogue = catalogue or builtin_catalogue()
    if isinstance(record, TelemetryReport):
        return _from_report(record, catalogue)
    return _from_frame(record, catalogue)


def _from_frame(f: TelemetryFrame, catalogue: Catalogue) -> Batch:
    if len(set(f.entity_ids)) != len(f.entity_ids):
        twice = sorted({e for e in f.entity_ids if f.entity_ids.count(e) > 1})
        raise BadRecord("schema", f"duplicate entity ids: {', '.join(twice[:5])}")
    order = _column_order(catalogue, f.kind, f.kpis)
    values = np.asarray(f.values, dtype=float)[:, order]  # null becomes NaN
    present = None
    if np.isnan(values).any():  # a null was not measured; a NaN sent as a value is a bad one
        present = np.asarray([[v is not None for v in row] for row in f.values], dtype=bool)[:, order]
        _check_finite(values[present])
    else:
        _check_finite(values)
    return Batch(f.shard, f.tick, f.kind, tuple(f.entity_ids), values, present)


def _from_report(r: TelemetryReport, catalogue: Catalogue) -> Batch:
    declared = catalogue.kind_of(r.entity_id)
    if declared is None:
        raise BadRecord("schema", f"entity id {r.entity_id!r} matches no kind of the catalogue")
    kind = as_kind(declared)
    names = list(r.kpis)
    order = _column_order(catalogue, kind, names)
    values = np.asarray([[r.kpis[n] for n in names]], dtype=float)[:, order]
    _check_finite(values)
    return Batch(f"entity:{r.entity_id}", r.tick, kind, (r.entity_id,), values)


def _column_order(catalogue: Catalogue, kind: str, kpis: list[str]) -> list[int]:
    if kind not in catalogue.kinds:
        raise BadRecord("schema", f"kind {kind!r} is not in the catalogue ({', '.join(catalogue.kinds)})")
    expected = catalogue.kpi_names(kind)
    if not expected:
        raise BadRecord("schema", f"entities of kind {kind!r} report no KPIs")
    unknown = sorted(set(kpis) - set(expected))
    if unknown:
        raise BadRecord("unknown_kpi", f"unknown KPIs for {kind}: {', '.join(unknown)}")
    missing = [k for k in expected if k not in kpis]
    if missing:
        raise BadRecord("missing_kpi", f"missing KPIs for {kind}: {', '.join(missing)}")
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
