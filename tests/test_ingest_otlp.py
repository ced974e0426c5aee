"""The OTLP/HTTP metrics receiver: requests built with the official proto classes, POSTed to the app."""

import asyncio
import gzip
import json

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from streams.ingest.mapping import parse_rules
from streams.ingest.otlp import otlp_app
from streams.ingest.samples import Rejected, Sample, Tally
from streams.runtime.control import serve_on_loopback

T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z in ns
CUMULATIVE = m.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
DELTA = m.AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
RULES = parse_rules({"unmatched": "reject", "rules": [
    {"match": {"__name__": "amf\\.(?P<kpi>.+)", "service.name": "(?P<nf>.+)"}, "entity": "{nf}/{host.name}",
     "kpi": "{kpi}"},
]})
PROTOBUF = {"content-type": "application/x-protobuf"}


def _attrs(**kv) -> list[KeyValue]:
    def value(v):
        if isinstance(v, bool):
            return AnyValue(bool_value=v)
        if isinstance(v, int):
            return AnyValue(int_value=v)
        return AnyValue(string_value=v)
    return [KeyValue(key=k.replace("_", "."), value=value(v)) for k, v in kv.items()]


def _request(*metrics: m.Metric, host: str = "amf-1") -> ExportMetricsServiceRequest:
    return ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        resource={"attributes": _attrs(service_name="amf", host_name=host)},
        scope_metrics=[m.ScopeMetrics(scope={"name": "netloop-test"}, metrics=list(metrics))])])


def _gauge(name: str, value: float, **attrs) -> m.Metric:
    return m.Metric(name=name, unit="1", gauge=m.Gauge(data_points=[
        m.NumberDataPoint(time_unix_nano=T0, as_double=value, attributes=_attrs(**attrs))]))


def _sum(name: str, value: int, *, temporality=CUMULATIVE, monotonic=True, start=T0 - 10**10) -> m.Metric:
    return m.Metric(name=name, sum=m.Sum(aggregation_temporality=temporality, is_monotonic=monotonic,
                                        data_points=[m.NumberDataPoint(start_time_unix_nano=start,
                                                                       time_unix_nano=T0, as_int=value)]))


def _post(body: bytes, headers: dict[str, str], *, queue_size: int = 16, tally: Tally | None = None):
    """POST ``body`` to a fresh receiver through httpx's ASGI transport; the response and the queue."""
    async def go():
        out: asyncio.Queue = asyncio.Queue(queue_size)
        app = otlp_app(RULES, out, clock=lambda: 5.0, max_body_bytes=4096, tally=tally)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://otlp") as client:
            resp = await client.post("/v1/metrics", content=body, headers=headers)
        batches = []
        while not out.empty():
            batches.append(out.get_nowait())
        return resp, batches
    return asyncio.run(go())


def test_gauges_and_cumulative_sums_become_samples_with_resource_and_point_attributes_as_labels():
    request = _request(_gauge("amf.registered_ues", 812.0), _sum("amf.registrations_total", 9000),
                       _sum("amf.sessions", 40, monotonic=False))
    resp, batches = _post(request.SerializeToString(), PROTOBUF)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/x-protobuf")
    assert not ExportMetricsServiceResponse.FromString(resp.content).HasField("partial_success")
    assert batches == [[Sample(T0 / 1e9, "amf/amf-1", "registered_ues", 812.0, False),
                        Sample(T0 / 1e9, "amf/amf-1", "registrations_total", 9000.0, True),
                        Sample(T0 / 1e9, "amf/amf-1", "sessions", 40.0, False)]]


def test_point_attributes_override_resource_attributes_and_numbers_and_booleans_become_labels():
    rules = parse_rules([{"match": {"__name__": "x"}, "entity": "{host.name}-{slot}-{ok}"}])

    async def go():
        out: asyncio.Queue = asyncio.Queue(4)
        transport = httpx.ASGITransport(app=otlp_app(rules, out))
        async with httpx.AsyncClient(transport=transport, base_url="http://otlp") as client:
            body = _request(_gauge("x", 1.0, host_name="other", slot=3, ok=True)).SerializeToString()
            await client.post("/v1/metrics", content=body, headers=PROTOBUF)
        return out.get_nowait()
    assert [s.entity for s in asyncio.run(go())] == ["other-3-true"]


def test_a_delta_sum_becomes_a_per_second_rate_over_its_own_interval():
    request = _request(_sum("amf.registrations_total", 50, temporality=DELTA, start=T0 - 10 * 10**9))
    _, batches = _post(request.SerializeToString(), PROTOBUF)
    assert batches == [[Sample(T0 / 1e9, "amf/amf-1", "registrations_total", 5.0, False)]]


def test_a_delta_sum_without_a_start_time_is_rejected_and_reported_as_partial_success():
    request = _request(_sum("amf.registrations_total", 50, temporality=DELTA, start=0),
                       _gauge("amf.registered_ues", 3.0))
    resp, batches = _post(request.SerializeToString(), PROTOBUF)
    assert resp.status_code == 200
    partial = ExportMetricsServiceResponse.FromString(resp.content).partial_success
    assert partial.rejected_data_points == 1 and "start_time_unix_nano" in partial.error_message
    rejected = [i for i in batches[0] if isinstance(i, Rejected)]
    assert rejected[0].reason.startswith(
        "resource_metrics[0].scope_metrics[0].metrics[0] 'amf.registrations_total' data_points[0]:")
    assert rejected[0].raw == request.resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0] \
        .SerializeToString()
    assert [s.kpi for s in batches[0] if isinstance(s, Sample)] == ["registered_ues"]


def test_histograms_and_summaries_give_count_and_sum_counters_and_quantile_gauges():
    point = m.HistogramDataPoint(time_unix_nano=T0, count=10, sum=2.5, bucket_counts=[4, 6],
                                 explicit_bounds=[0.1])
    hist = m.Metric(name="amf.latency",
                    histogram=m.Histogram(aggregation_temporality=CUMULATIVE, data_points=[point]))
    summary = m.Metric(name="amf.rtt", summary=m.Summary(data_points=[m.SummaryDataPoint(
        time_unix_nano=T0, count=4, sum=1.0,
        quantile_values=[m.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=0.2)])]))
    _, batches = _post(_request(hist, summary).SerializeToString(), PROTOBUF)
    assert {(s.kpi, s.value, s.counter) for s in batches[0]} == {
        ("latency_count", 10.0, True), ("latency_sum", 2.5, True),
        ("rtt_count", 4.0, True), ("rtt_sum", 1.0, True), ("rtt", 0.2, False)}


def test_a_point_with_no_recorded_value_is_skipped_and_counted():
    metric = _gauge("amf.registered_ues", 1.0)
    metric.gauge.data_points[0].flags = 1
    tally = Tally()
    _, batches = _post(_request(metric).SerializeToString(), PROTOBUF, tally=tally)
    assert batches == [[]] and tally.skipped == {"no recorded value": 1}


def test_a_point_without_a_time_takes_the_time_of_receipt():
    metric = _gauge("amf.registered_ues", 1.0)
    metric.gauge.data_points[0].time_unix_nano = 0
    _, batches = _post(_request(metric).SerializeToString(), PROTOBUF)
    assert batches[0][0].time_s == 5.0


def test_the_json_encoding_is_read_and_answered_in_json():
    request = _request(_gauge("amf.registered_ues", 812.0))
    body = json.loads(json_format.MessageToJson(request))
    body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"][0]["exemplars"] = [
        {"traceId": "5b8efff798038103d269b633813fc60c", "asDouble": 1.0}]  # hex, as OTLP JSON spells it
    resp, batches = _post(json.dumps(body).encode(), {"content-type": "application/json"})
    assert resp.status_code == 200 and resp.json() == {}
    assert batches == [[Sample(T0 / 1e9, "amf/amf-1", "registered_ues", 812.0, False)]]


def test_a_truncated_protobuf_is_answered_400_with_the_reason_and_dead_lettered():
    body = _request(_gauge("amf.registered_ues", 812.0)).SerializeToString()[:-5]
    resp, batches = _post(body, PROTOBUF)
    assert resp.status_code == 400
    assert b"not an ExportMetricsServiceRequest" in resp.content  # a google.rpc.Status, field 2
    assert resp.content[:2] == b"\x08\x03"  # code INVALID_ARGUMENT
    [[rejected]] = batches
    assert rejected.raw == body and rejected.reason.startswith("not an ExportMetricsServiceRequest")


def test_bad_json_is_answered_400_with_the_reason_in_json():
    resp, batches = _post(b'{"resourceMetrics": 7}', {"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["code"] == 3
    assert "not OTLP JSON" in resp.json()["message"]
    assert isinstance(batches[0][0], Rejected)


def test_a_gzipped_body_is_inflated_and_one_that_inflates_past_the_limit_is_413():
    body = _request(_gauge("amf.registered_ues", 812.0)).SerializeToString()
    resp, batches = _post(gzip.compress(body), {**PROTOBUF, "content-encoding": "gzip"})
    assert resp.status_code == 200 and len(batches[0]) == 1
    resp, _ = _post(gzip.compress(b"\0" * 1_000_000), {**PROTOBUF, "content-encoding": "gzip"})
    assert resp.status_code == 413 and b"larger than 4096 bytes" in resp.content


def test_a_body_past_the_limit_is_413_and_another_media_type_or_encoding_is_415():
    assert _post(b"\0" * 5000, PROTOBUF)[0].status_code == 413
    assert _post(b"x", {"content-type": "text/plain"})[0].status_code == 415
    assert _post(b"x", {**PROTOBUF, "content-encoding": "br"})[0].status_code == 415


def test_a_full_queue_answers_503_with_retry_after_and_keeps_nothing():
    async def go():
        out: asyncio.Queue = asyncio.Queue(1)
        out.put_nowait(["something the consumer has not taken"])
        transport = httpx.ASGITransport(app=otlp_app(RULES, out))
        async with httpx.AsyncClient(transport=transport, base_url="http://otlp") as client:
            body = _request(_gauge("amf.registered_ues", 1.0)).SerializeToString()
            return await client.post("/v1/metrics", content=body, headers=PROTOBUF), out.qsize()
    resp, size = asyncio.run(go())
    assert resp.status_code == 503 and resp.headers["retry-after"] == "1" and size == 1


def test_the_receiver_answers_over_real_http_under_uvicorn():
    async def go():
        out: asyncio.Queue = asyncio.Queue(4)
        url, server, task = await serve_on_loopback(otlp_app(RULES, out))
        try:
            async with httpx.AsyncClient() as client:
                body = _request(_gauge("amf.registered_ues", 7.0)).SerializeToString()
                ok = await client.post(url + "/v1/metrics", content=body, headers=PROTOBUF)
                bad = await client.post(url + "/v1/metrics", content=b"\xff\xff", headers=PROTOBUF)
        finally:
            server.should_exit = True
            await task
        return ok.status_code, bad.status_code, out.get_nowait(), out.get_nowait()
    ok, bad, first, second = asyncio.run(go())
    assert (ok, bad) == (200, 400)
    assert first == [Sample(T0 / 1e9, "amf/amf-1", "registered_ues", 7.0, False)]
    assert isinstance(second[0], Rejected) and second[0].source == "otlp:127.0.0.1"


@pytest.mark.parametrize("which", ["empty", "unspecified"])
def test_a_metric_without_data_or_temporality_is_rejected_naming_it(which):
    metric = m.Metric(name="amf.odd") if which == "empty" else _sum("amf.odd", 1, temporality=0)
    resp, batches = _post(_request(metric).SerializeToString(), PROTOBUF)
    assert resp.status_code == 200
    assert "'amf.odd'" in batches[0][0].reason
