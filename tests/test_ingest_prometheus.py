"""Scraping Prometheus targets: a real HTTP endpoint started by the test, scraped by the adapter."""

import asyncio
import contextlib
import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from streams.ingest.exposition import parse_exposition
from streams.ingest.mapping import parse_rules
from streams.ingest.prometheus import Scrape, Scraper, TargetError
from streams.ingest.samples import Rejected, Sample, Tally
from streams.runtime.control import serve_on_loopback

EXPOSITION = b"""\
# HELP upf_sessions Active PDU sessions.
# TYPE upf_sessions gauge
upf_sessions{instance="upf-1",slice="embb"} 1520
upf_sessions{instance="upf-1",slice="urllc"} 33
# HELP upf_packets_total Packets forwarded.
# TYPE upf_packets_total counter
upf_packets_total{instance="upf-1",direction="ul"} 9.87e6
upf_packets_total{instance="upf-1",direction="dl"} 2.5e7 1767225600000
# TYPE upf_latency_seconds histogram
upf_latency_seconds_bucket{instance="upf-1",le="0.01"} 80
upf_latency_seconds_bucket{instance="upf-1",le="+Inf"} 100
upf_latency_seconds_sum{instance="upf-1"} 0.75
upf_latency_seconds_count{instance="upf-1"} 100
# TYPE upf_rtt_seconds summary
upf_rtt_seconds{instance="upf-1",quantile="0.99"} 0.02
upf_rtt_seconds_sum{instance="upf-1"} 3.5
upf_rtt_seconds_count{instance="upf-1"} 400
upf_temperature_celsius{instance="upf-1",note="a \\"quoted\\", {braced} value"} 41.5
upf_restarts_total{instance="upf-1"} 2
upf_cpu_ratio{instance="upf-1"} NaN
"""
MALFORMED = EXPOSITION + b'upf_broken{instance="upf-1" 7\nupf_ok{instance="upf-1"} 1\nupf_ok 2\n'
RULES = parse_rules({"unmatched": "reject", "rules": [
    {"match": {"__name__": ".*_bucket"}, "drop": True},
    {"match": {"__name__": "upf_(?P<kpi>.+)", "direction": "(?P<dir>.+)"}, "entity": "{instance}",
     "kpi": "{kpi}_{dir}"},
    {"match": {"__name__": "upf_(?P<kpi>.+)", "slice": "(?P<slice>.+)"}, "entity": "{instance}/{slice}",
     "kpi": "{kpi}"},
    {"match": {"__name__": "upf_(?P<kpi>.+)"}, "entity": "{instance}", "kpi": "{kpi}"},
]})
NOW = 1767225000.0


def _app() -> Starlette:
    async def metrics(request):
        return Response(EXPOSITION, media_type="text/plain; version=0.0.4")

    async def malformed(request):
        return Response(MALFORMED, media_type="text/plain")

    async def broken(request):
        return PlainTextResponse("exporter crashed", status_code=500)

    async def stalled(request):
        async def drip():
            yield b"upf_sessions 1\n"
            await asyncio.Event().wait()  # never finishes the body
        return StreamingResponse(drip(), media_type="text/plain")

    return Starlette(routes=[Route("/metrics", metrics), Route("/malformed", malformed),
                             Route("/broken", broken), Route("/stalled", stalled)])


@contextlib.asynccontextmanager
async def exporter():
    """A Prometheus exporter on a free loopback port, for the test's duration."""
    url, server, task = await serve_on_loopback(_app())
    try:
        yield url
    finally:
        server.should_exit = True
        await task


def _down_url() -> str:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/metrics"


def _scrape(path: str, **kw) -> tuple[Scrape, Scraper]:
    async def go():
        async with exporter() as url, httpx.AsyncClient() as client:
            scraper = Scraper([url + path], RULES, client=client, clock=lambda: NOW, **kw)
            return await scraper.scrape(scraper.targets[0]), scraper
    return asyncio.run(go())


def _by_name(items) -> dict[tuple[str, str], Sample]:
    return {(s.entity, s.kpi): s for s in items if isinstance(s, Sample)}


def test_a_scrape_of_a_real_endpoint_gives_gauges_and_counters_named_by_their_labels():
    scrape, _ = _scrape("/metrics")
    assert scrape.up
    got = _by_name(scrape.items)
    assert got[("upf-1/embb", "sessions")] == Sample(NOW, "upf-1/embb", "sessions", 1520.0, False)
    assert got[("upf-1/urllc", "sessions")].value == 33.0
    assert got[("upf-1", "packets_total_ul")] == Sample(NOW, "upf-1", "packets_total_ul", 9.87e6, True)
    assert got[("upf-1", "restarts_total")].counter  # untyped, but named _total
    assert not got[("upf-1", "temperature_celsius")].counter
    assert not [i for i in scrape.items if isinstance(i, Rejected)]


def test_a_line_without_an_instance_label_gets_the_targets_host_and_port():
    rules = parse_rules([{"match": {"__name__": "upf_ok|upf_sessions"}, "entity": "{instance}"}])

    async def go():
        async with exporter() as url, httpx.AsyncClient() as client:
            scraper = Scraper([url + "/malformed"], rules, client=client)
            return url, await scraper.scrape(scraper.targets[0])
    url, scrape = asyncio.run(go())
    entities = {s.entity for s in scrape.items if isinstance(s, Sample)}
    assert entities == {"upf-1", url.removeprefix("http://")}  # the line's own label wins


def test_a_timestamp_on_the_line_is_the_sample_time_else_the_scrape_time():
    got = _by_name(_scrape("/metrics")[0].items)
    assert got[("upf-1", "packets_total_dl")].time_s == 1767225600.0
    assert got[("upf-1", "packets_total_ul")].time_s == NOW


def test_histogram_and_summary_sums_and_counts_are_counters_and_quantiles_are_gauges():
    got = _by_name(_scrape("/metrics")[0].items)
    for kpi in ("latency_seconds_sum", "latency_seconds_count", "rtt_seconds_sum", "rtt_seconds_count"):
        assert got[("upf-1", kpi)].counter, kpi
    assert not got[("upf-1", "rtt_seconds")].counter
    assert not any("bucket" in kpi for _, kpi in got)  # dropped by the first rule


def test_a_label_value_with_escaped_quotes_and_braces_is_read_whole():
    tally = Tally()
    rules = parse_rules([{"match": {"__name__": "upf_temperature_celsius"}, "entity": "{note}"}])
    items = parse_exposition(EXPOSITION, rules, source="t", scrape_time_s=NOW, tally=tally)
    assert [s.entity for s in items if isinstance(s, Sample)] == ['a "quoted", {braced} value']


def test_a_not_finite_value_is_skipped_and_counted_not_rejected():
    _, scraper = _scrape("/metrics")
    assert scraper.tally.skipped["not finite"] == 1
    assert scraper.tally.skipped["dropped by rule"] == 2


def test_a_malformed_line_is_rejected_with_its_line_named_and_the_lines_after_it_are_read():
    scrape, _ = _scrape("/malformed")
    rejected = [i for i in scrape.items if isinstance(i, Rejected)]
    line = EXPOSITION.count(b"\n") + 1
    assert len(rejected) == 1
    assert rejected[0].reason.startswith(f"line {line}: upf_broken")
    assert rejected[0].raw == b'upf_broken{instance="upf-1" 7'
    assert rejected[0].source.startswith("prometheus:http://127.0.0.1:")
    assert ("upf-1", "ok") in _by_name(scrape.items)


@pytest.mark.parametrize(("line", "why"), [
    (b"# TYPE x flavour", "unknown metric type 'flavour'"),
    (b"# TYPE x", "expected # TYPE <metric name> <type>"),
    (b"x 1 2 3", "expected a value"),
    (b"x one", "'one' is not a number"),
    (b"x 1_000", "'1_000' is not a number"),
    (b'x{a="1",a="2"} 1', "label 'a' given twice"),
    (b"{a=\"1\"} 1", "expected a metric name"),
    (b"x \xff", "not UTF-8"),
])
def test_each_kind_of_malformed_line_is_rejected_saying_what_is_wrong(line, why):
    items = parse_exposition(b"ok 1\n" + line + b"\n", parse_rules([{"entity": "e"}]), source="t",
                             scrape_time_s=NOW, tally=Tally())
    assert isinstance(items[0], Sample)
    assert isinstance(items[1], Rejected) and items[1].reason.startswith("line 2:") and why in items[1].reason


def test_a_series_the_rules_reject_is_rejected_with_its_line_named():
    items = parse_exposition(b"mystery_metric 1\n", RULES, source="t", scrape_time_s=NOW, tally=Tally())
    assert items == [Rejected("t", "line 1: no rule matches the series", b"mystery_metric 1")]


def test_an_error_status_is_one_rejection_with_the_body_and_the_target_counts_as_down():
    scrape, _ = _scrape("/broken")
    assert not scrape.up
    assert scrape.items == [Rejected(scrape.items[0].source, "HTTP 500", b"exporter crashed")]


def test_an_exposition_past_the_size_limit_is_rejected_unread():
    scrape, _ = _scrape("/metrics", max_body_bytes=100)
    assert not scrape.up and "larger than 100 bytes" in scrape.items[0].reason


def test_a_target_that_starts_an_answer_and_never_finishes_it_is_cut_off_by_the_scrape_timeout():
    scrape, _ = _scrape("/stalled", timeout_s=0.2)
    assert not scrape.up and scrape.items[0].reason == "scrape took longer than 0.2 s"


def test_a_target_that_is_not_an_http_url_is_refused_when_the_scraper_is_made():
    with pytest.raises(TargetError, match="ftp://x"):
        Scraper(["ftp://x"], RULES, client=httpx.AsyncClient())


def test_a_target_that_is_down_is_rejected_and_scraped_again_with_backoff_while_the_others_go_on():
    delays: dict[str, list[float]] = {}
    down = _down_url()

    async def go():
        enough = asyncio.Event()

        async def sleep(seconds: float) -> None:  # records the wait, lets the loop go on
            task = asyncio.current_task()
            delays.setdefault(task.get_name(), []).append(seconds)
            lists = list(delays.values())
            if any(v[:3] == [20.0, 40.0, 40.0] for v in lists) and any(v[0] == 10.0 for v in lists):
                enough.set()
            await asyncio.sleep(0)

        async with exporter() as url, httpx.AsyncClient() as client:
            scraper = Scraper([down, url + "/metrics"], RULES, client=client, interval_s=10.0,
                              max_backoff_s=40.0, sleep=sleep)
            out: asyncio.Queue[Scrape] = asyncio.Queue(4)
            seen: list[Scrape] = []

            async def consume():
                while True:
                    seen.append(await out.get())

            tasks = [asyncio.create_task(scraper.run(out)), asyncio.create_task(consume())]
            async with asyncio.timeout(30):
                await enough.wait()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return seen

    seen = asyncio.run(go())
    failed = [s for s in seen if s.target == down]
    assert failed and all(not s.up for s in failed)
    assert "ConnectError" in failed[0].items[0].reason
    assert any(s.up for s in seen if s.target != down)
    down_waits, up_waits = sorted(delays.values(), key=lambda w: w[0], reverse=True)
    assert down_waits[:3] == [20.0, 40.0, 40.0]  # doubling from the interval, up to max_backoff_s
    assert set(up_waits) == {10.0}
