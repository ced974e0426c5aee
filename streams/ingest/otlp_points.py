"""OTLP metrics (``ExportMetricsServiceRequest``) into samples: what each data point means.

A series' labels for the rules: the resource's attributes, then the scope's, then the data
point's (a later one wins), with ``__name__`` the metric's name and ``__unit__`` its unit.
Attributes that are strings, booleans (``true``/``false``) or numbers become labels; arrays,
maps and bytes do not.

- **gauge**: the value, not a counter.
- **sum**, cumulative: a counter when monotonic (the frame builder makes the rate), else a gauge.
- **sum**, delta: turned into a per-second rate here, ``value / (time - start_time)``, and
  handed on as a gauge (``counter=False``): a delta is an increase over its own interval, so
  no state across requests is needed. A delta point without a start time before its time is
  rejected.
- **histogram**, **exponential histogram**: ``<name>_count`` and ``<name>_sum`` (when sent),
  as cumulative counters or delta rates like a sum; buckets are not read.
- **summary**: ``<name>_count`` and ``<name>_sum`` as counters, and each quantile as
  ``<name>`` with a ``quantile`` label, a gauge.

A point flagged "no recorded value" is skipped (counted). A point's time is ``time_unix_nano``,
or the time of receipt when it is 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric

from streams.ingest.mapping import Rules, Unusable
from streams.ingest.samples import Rejected, Sample, Tally

_NO_RECORDED_VALUE = 1
_DELTA, _CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA, \
    AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
# (name suffix, extra labels, value, a monotonic counter when cumulative)
Reading = tuple[str, dict[str, str], float, bool]


def request_samples(request: ExportMetricsServiceRequest, rules: Rules, *, source: str, now_s: float,
                    tally: Tally) -> Iterator[Sample | Rejected]:
    """Every data point of ``request`` as samples, or a :class:`Rejected` naming the point."""
    for r, rm in enumerate(request.resource_metrics):
        resource = attributes(rm.resource.attributes)
        for s, sm in enumerate(rm.scope_metrics):
            labels = {**resource, **attributes(sm.scope.attributes)}
            for m, metric in enumerate(sm.metrics):
                where = f"resource_metrics[{r}].scope_metrics[{s}].metrics[{m}] {metric.name[:80]!r}"
                yield from metric_samples(metric, labels, rules, where=where, source=source,
                                          now_s=now_s, tally=tally)


def metric_samples(metric: Metric, labels: Mapping[str, str], rules: Rules, *, where: str, source: str,
                   now_s: float, tally: Tally) -> Iterator[Sample | Rejected]:
    """The samples of one metric whose resource and scope give ``labels``."""
    kind = metric.WhichOneof("data")
    if kind is None:
        yield Rejected(source, f"{where}: no gauge, sum, histogram or summary", metric.SerializeToString())
        return
    data = getattr(metric, kind)
    temporality = getattr(data, "aggregation_temporality", _CUMULATIVE if kind == "summary" else None)
    for p, point in enumerate(data.data_points):
        if point.flags & _NO_RECORDED_VALUE:
            tally.skip("no recorded value")
            continue
        at = f"{where} data_points[{p}]"
        series = {**labels, **attributes(point.attributes), "__name__": metric.name, "__unit__": metric.unit}
        try:
            found = list(_point(kind, data, point, series, temporality, rules, now_s, tally))
        except ValueError as exc:
            yield Rejected(source, f"{at}: {exc}", point.SerializeToString())
            continue
        for item in found:
            yield Rejected(source, f"{at}: {item.reason}", point.SerializeToString()) \
                if isinstance(item, Unusable) else item


def _point(kind: str, data: Any, point: Any, series: dict[str, str], temporality: int | None,
           rules: Rules, now_s: float, tally: Tally) -> Iterator[Sample | Unusable]:
    time_s = point.time_unix_nano / 1e9 if point.time_unix_nano else now_s
    if temporality not in (None, _DELTA, _CUMULATIVE):
        raise ValueError("aggregation temporality unspecified (neither delta nor cumulative)")
    if temporality == _DELTA:
        seconds = (point.time_unix_nano - point.start_time_unix_nano) / 1e9
        if not point.start_time_unix_nano or seconds <= 0:
            raise ValueError("a delta point needs a start_time_unix_nano before its time_unix_nano")
    for suffix, extra, value, monotonic in _readings(kind, data, point):
        labels = {**series, **extra, "__name__": series["__name__"] + suffix}
        if temporality == _DELTA:
            value, monotonic = value / seconds, False
        found = rules.sample(labels, value, time_s=time_s,
                             counter=monotonic and temporality == _CUMULATIVE, tally=tally)
        if found is not None:
            yield found


def _readings(kind: str, data: Any, point: Any) -> list[Reading]:
    if kind in ("gauge", "sum"):
        which = point.WhichOneof("value")
        if which is None:
            raise ValueError("no as_double or as_int value")
        return [("", {}, float(getattr(point, which)), kind == "sum" and data.is_monotonic)]
    found: list[Reading] = [("_count", {}, float(point.count), True)]
    if kind == "summary" or point.HasField("sum"):
        found.append(("_sum", {}, point.sum, True))
    if kind == "summary":
        found += [("", {"quantile": str(q.quantile)}, q.value, False) for q in point.quantile_values]
    return found


def attributes(pairs: Iterator[KeyValue] | Any) -> dict[str, str]:
    """The string, boolean and number attributes of ``pairs`` as labels; others are left out."""
    found = {}
    for kv in pairs:
        which = kv.value.WhichOneof("value")
        if which in ("string_value", "int_value", "double_value"):
            found[kv.key] = str(getattr(kv.value, which))
        elif which == "bool_value":
            found[kv.key] = "true" if kv.value.bool_value else "false"
    return found
