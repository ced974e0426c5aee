"""Fuzzing every ingest parser: whatever bytes arrive, an adapter turns them into samples or
rejections with a reason, and never raises (the OTLP receiver answers 200, 400 or 413, never 500).

Property-based (hypothesis): arbitrary bytes, text built from the format's own pieces, and valid
payloads with bytes flipped or cut.
"""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.ingest.exposition import parse_exposition
from streams.ingest.mapping import MappingError, parse_rules
from streams.ingest.otlp import JSON, PROTOBUF, PayloadError, decode_request, otlp_app
from streams.ingest.otlp_points import request_samples
from streams.ingest.pm import parse_pm
from streams.ingest.samples import RAW_LIMIT_BYTES, Rejected, Sample, Tally
from tests.test_ingest_otlp import _gauge, _request, _sum
from tests.test_ingest_pm import MEAS_COLLEC
from tests.test_ingest_prometheus import EXPOSITION

pytestmark = pytest.mark.fuzz

RULES = parse_rules([{"match": {"__name__": "(?P<n>.+)"}, "entity": "{instance}", "kpi": "{n}"},
                     {"entity": "e"}])
PM_RULES = parse_rules([{"match": {"measObjLdn": "(?P<o>.+)"}, "entity": "{o}"}, {"entity": "e"}])
OTLP_BODY = _request(_gauge("amf.x", 1.0, slot=2), _sum("amf.y", 5)).SerializeToString()
EXPOSITION_PIECES = st.sampled_from([
    "# TYPE ", "# HELP ", "counter", "gauge", "histogram", "summary", "x", "x_total", "x_sum", "x_bucket",
    "{", "}", '="', '"', ",", "=", " ", "\n", "\\", "\\n", "1", "-", ".5e3", "NaN", "+Inf", "1767225600000",
    'le="+Inf"', 'instance="i"', "\xff", "\r",
])
PM_PIECES = st.sampled_from([
    "<measInfo>", "</measInfo>", '<measValue measObjLdn="A=1,B=2">', "</measValue>",
    "<measTypes>a b</measTypes>", "<measResults>1 2</measResults>", "<measResults>NIL</measResults>",
    '<r p="1">3</r>', '<measType p="1">m</measType>', "<suspect>true</suspect>",
    '<granPeriod endTime="2026-03-01T14:15:00+02:00"/>', '<granPeriod endTime="x"/>',
    "<measData>", "</measData>", "&amp;", "<!--c-->", " ",
])


def _check(items: list[Sample | Rejected]) -> None:
    for item in items:
        if isinstance(item, Sample):
            assert math.isfinite(item.value) and item.entity and item.kpi
        else:
            assert isinstance(item, Rejected) and item.reason and len(item.raw) <= RAW_LIMIT_BYTES


@given(st.binary(max_size=4096))
def test_any_bytes_scraped_become_samples_or_rejections_by_line(body: bytes) -> None:
    _check(parse_exposition(body, RULES, source="t", scrape_time_s=1.0, tally=Tally()))


@given(st.lists(EXPOSITION_PIECES, max_size=60))
def test_any_text_made_of_exposition_pieces_becomes_samples_or_rejections(pieces: list[str]) -> None:
    body = EXPOSITION + "".join(pieces).encode("utf-8", "surrogateescape")
    _check(parse_exposition(body, RULES, source="t", scrape_time_s=1.0, tally=Tally()))


@given(st.binary(max_size=2048), st.sampled_from([PROTOBUF, JSON]))
def test_any_bytes_posted_as_otlp_decode_or_are_refused_with_a_reason(body: bytes, media: str) -> None:
    try:
        request = decode_request(body, media)
    except PayloadError as exc:
        assert str(exc)
        return
    _check(list(request_samples(request, RULES, source="t", now_s=1.0, tally=Tally())))


@given(st.data())
def test_a_valid_otlp_body_with_bytes_flipped_or_cut_is_answered_200_or_400_never_500(data) -> None:
    body = bytearray(OTLP_BODY)
    for _ in range(data.draw(st.integers(1, 4))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    body = bytes(body[: data.draw(st.integers(0, len(body)))])
    media = data.draw(st.sampled_from([PROTOBUF, JSON]))

    async def go() -> tuple[int, list]:
        out: asyncio.Queue = asyncio.Queue(4)
        transport = httpx.ASGITransport(app=otlp_app(RULES, out))  # an app exception would raise here
        async with httpx.AsyncClient(transport=transport, base_url="http://o") as client:
            resp = await client.post("/v1/metrics", content=body, headers={"content-type": media})
        return resp.status_code, out.get_nowait()

    status, items = asyncio.run(go())
    assert status in (200, 400)
    _check(items)


@given(st.binary(max_size=4096))
def test_any_bytes_as_a_pm_file_become_samples_or_rejections(data: bytes) -> None:
    _check(parse_pm(data, PM_RULES, source="pm:x", tally=Tally()))


@given(st.lists(PM_PIECES, max_size=40), st.integers(0, len(MEAS_COLLEC)))
def test_a_meas_collec_file_with_pieces_spliced_in_becomes_samples_or_rejections(pieces, at) -> None:
    text = MEAS_COLLEC[:at] + "".join(pieces) + MEAS_COLLEC[at:]
    _check(parse_pm(text.encode(), PM_RULES, source="pm:x", tally=Tally()))


_LEAF = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | \
    st.sampled_from(["(", "{x", "}", "auto", "drop", "reject", ".*", "(?P<g>.)", "{g}"])
_RULE_BODY = st.recursive(_LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["match", "entity", "kpi", "counter", "drop", "rules", "unmatched", "__name__", "x"]) |
    st.text(max_size=5), inner, max_size=5), max_leaves=20)


@given(_RULE_BODY)
def test_any_rule_file_content_loads_or_is_refused_naming_a_field(body) -> None:
    try:
        rules = parse_rules(body)
    except MappingError as exc:
        assert str(exc).strip()
        return
    rules.resolve({"__name__": "x", "g": "1"}, counter=False)
