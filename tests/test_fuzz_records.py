"""Fuzzing every record decoder and the tick-mark path: whatever bytes arrive, a stage either uses them
or writes a dead letter with a reason, and never fails with an unexpected exception.

Property-based (hypothesis): arbitrary bytes, arbitrary JSON, and valid records with one field set to
an arbitrary JSON value. A stage's unexpected exception is a dead letter of kind ``error``; the
properties say there is none.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from actuators import PolicyTable
from schemas import (
    ActionResult,
    AnomalyEvent,
    Candidate,
    DecisionRecord,
    Incident,
    TelemetryFrame,
    TickMark,
    topics,
)
from streams.kafka.marks import MarkedStage
from streams.metrics import LoopMetrics
from streams.runtime.bus import Message
from streams.runtime.embedded import loop_stages
from streams.runtime.pipeline import handle_safely
from streams.settings import Settings

pytestmark = pytest.mark.fuzz

_JSON_LEAVES = st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
JSON = st.recursive(_JSON_LEAVES, lambda inner: st.lists(inner, max_size=4) |
                    st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
SPELLED = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400, "1e39",
                           "true", '"5"', "5.0", "-1", "[]", "{}", "null", '""'])

CELL_KPIS = ["prb_utilization_ratio", "throughput_mbps", "active_users", "latency_ms", "packet_loss_ratio",
             "cqi", "bler_ratio", "handover_success_ratio", "drop_rate_ratio"]
_CANDIDATES = [Candidate(entity_id="cell-0001-1", score=1.0, fault_type="cell_outage", explained=1)]
VALID: dict[str, bytes] = {
    topics.TELEMETRY: TelemetryFrame(shard="s", tick=3, timestamp_s=180.0, kind="cell",
                                     entity_ids=["cell-0001-1"], kpis=CELL_KPIS,
                                     values=[[0.5, 100, 30, 12, 0.001, 11, 0.05, 0.98, 0.005]]).encode(),
    topics.ANOMALIES: AnomalyEvent(entity_id="cell-0001-1", kpi="cqi", tick=3, value=1.0, expected=11.0,
                                   score=9.0, detector="levelshift").encode(),
    topics.INCIDENTS: Incident(incident_id="INC-000003-cell-0001-1", status="open", opened_tick=3, tick=3,
                               fault_type="cell_outage", confidence=0.9, candidates=_CANDIDATES,
                               symptoms=["cell-0001-1"]).encode(),
    topics.ACTION_RESULTS: ActionResult(action_id="INC-000003-cell-0001-1/0",
                                        incident_id="INC-000003-cell-0001-1", tool="restart_cell",
                                        target="cell-0001-1", ok=True, tick=4, detail="").encode(),
    topics.DECISIONS: DecisionRecord(incident_id="INC-000003-cell-0001-1", tick=3, stage="decide",
                                     decision="hold", explanation="x").encode(),
}


POLICIES = PolicyTable.default()  # a table, no state: every example's stages share it


def _stages() -> list:
    return loop_stages(Settings(), POLICIES, act=False, executor=None, on_rows=None, extra=[])


def _errors(metrics: LoopMetrics) -> float:
    return sum(s.value for family in metrics.dead_letters.collect() for s in family.samples
               if s.name.endswith("_total") and s.labels.get("reason") == "error")


def _through_every_stage(topic: str, raw: bytes) -> tuple[list, LoopMetrics]:
    metrics = LoopMetrics(CollectorRegistry())

    async def go() -> list:
        outs = []
        for stage in _stages():  # fresh ones: an example must not depend on the ones before it
            if topic in stage.topics:
                outs += await handle_safely(stage, Message(topic, "k", raw, 0, 0), metrics, partition=0)
        return outs

    return asyncio.run(go()), metrics


def _assert_used_or_dead_lettered(outs: list, metrics: LoopMetrics) -> None:
    assert _errors(metrics) == 0, [r.reason for t, _, r in outs if t == topics.DLQ]
    for topic, _, record in outs:
        if topic == topics.DLQ:
            assert record.reason.strip()


def _with_field(valid: bytes, field: str, value: Any) -> bytes:
    body = json.loads(valid)
    body[field] = value
    return json.dumps(body).encode()


TOPICS = st.sampled_from(sorted(VALID))


@given(topic=TOPICS, raw=st.binary(max_size=300))
def test_any_bytes_on_any_topic_are_used_or_dead_lettered_with_a_reason(topic: str, raw: bytes) -> None:
    _assert_used_or_dead_lettered(*_through_every_stage(topic, raw))


@given(topic=TOPICS, value=JSON)
def test_any_json_on_any_topic_is_used_or_dead_lettered_with_a_reason(topic: str, value: Any) -> None:
    _assert_used_or_dead_lettered(*_through_every_stage(topic, json.dumps(value).encode()))


@given(topic=TOPICS, data=st.data())
def test_a_valid_record_with_one_field_set_to_anything_is_used_or_dead_lettered(topic: str, data) -> None:
    body = json.loads(VALID[topic])
    field = data.draw(st.sampled_from(sorted(body)))
    raw = _with_field(VALID[topic], field, data.draw(JSON))
    _assert_used_or_dead_lettered(*_through_every_stage(topic, raw))


@given(topic=TOPICS, data=st.data())
def test_a_valid_record_with_a_number_spelled_as_json_cannot_is_used_or_dead_lettered(topic: str,
                                                                                      data) -> None:
    body = json.loads(VALID[topic])
    field = data.draw(st.sampled_from(sorted(body)))
    raw = _with_field(VALID[topic], field, "@@").replace(b'"@@"', data.draw(SPELLED).encode())
    _assert_used_or_dead_lettered(*_through_every_stage(topic, raw))


MARK_FIELDS = st.fixed_dictionaries({}, optional={
    "tick_closed": JSON | st.integers(min_value=-5, max_value=2**64),
    "partitions": JSON | st.integers(min_value=-5, max_value=20_000),
    "source_partition": JSON | st.integers(min_value=-5, max_value=20_000),
    "schema_version": JSON})


@given(marks=st.lists(MARK_FIELDS, min_size=1, max_size=6), on=st.sampled_from([topics.TELEMETRY,
                                                                               topics.ANOMALIES]))
def test_the_tick_mark_path_refuses_every_forged_mark_with_a_reason_and_closes_only_real_ticks(
        marks: list[dict], on: str) -> None:
    metrics = LoopMetrics(CollectorRegistry())
    closed: list[int] = []

    class _Clocked:
        name, topics = "verify", (topics.ANOMALIES,)

        async def handle(self, msg: Message) -> list:
            return []

        async def on_tick(self, tick: int) -> list:
            closed.append(tick)
            return []

    stage = _stages()[0] if on == topics.TELEMETRY else _Clocked()
    marked = MarkedStage(stage, partitions=2, max_ahead=5)

    async def go() -> list:
        real = [TickMark(tick_closed=t, source_partition=p, partitions=2).encode() for t in range(3)
                for p in (0, 1)]
        outs = []
        for i, raw in enumerate([*real[:2], *(json.dumps(m).encode() for m in marks), *real[2:]]):
            outs += await handle_safely(marked, Message(on, None, raw, i, i % 2), metrics, partition=i % 2)
        return outs

    outs = asyncio.run(go())
    _assert_used_or_dead_lettered(outs, metrics)
    forwarded = [r.tick_closed for t, _, r in outs if t == topics.ANOMALIES and isinstance(r, TickMark)]
    assert closed == sorted(set(closed))  # each tick closes once, in order
    assert all(0 <= t <= 2 + 5 for t in closed + forwarded)  # never past the latest real mark + max_ahead
