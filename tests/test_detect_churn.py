"""Entity churn in the detect stage: renamed, new, missing and duplicated entities never reset the known
ones; state for shards and entities not seen for a while is evicted; every bound holds.

The stage is driven directly with frames as a producer would write them (JSON bytes); the clock that
ages state is injected.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from detectors import default_filter, directions_of
from schemas import DeadLetter, EntityKind, TelemetryFrame, kpi_names, topics
from simulator import load_scenario
from streams.evaluate.report import build_report
from streams.metrics import LoopMetrics
from streams.runtime.bus import Message
from streams.runtime.embedded import EmbeddedLoop
from streams.runtime.pipeline import handle_safely
from streams.runtime.shards import StateBounds
from streams.runtime.stages import DetectorConfig, DetectStage
from streams.settings import Settings
from tests.fake_clock import Clock

CELLS = [f"cell-0001-{s}" for s in (1, 2, 3)]
HEALTHY = np.array([0.5, 120.0, 40.0, 12.0, 0.001, 11.0, 0.05, 0.98, 0.005])


def _frame(tick: int, ids: list[str], rng: np.random.Generator, *, shard: str = "sites-0001",
           down: str | None = None) -> bytes:
    values = HEALTHY * (1 + 0.01 * rng.standard_normal((len(ids), len(HEALTHY))))
    if down is not None:  # an outage: PRB use, throughput, users and CQI drop to zero
        values[ids.index(down), [0, 1, 2, 5]] = 0.0
    frame = TelemetryFrame(shard=shard, tick=tick, timestamp_s=60.0 * tick, kind=EntityKind.CELL,
                           entity_ids=ids, kpis=list(kpi_names(EntityKind.CELL)), values=values.tolist())
    return frame.encode()


WARM = 120  # ticks the default set needs before it scores (its warm-up is the data's, about 75)


def _stage(clock: Clock | None = None, **bounds: float) -> DetectStage:
    config = DetectorConfig(bounds=StateBounds(**bounds))
    return DetectStage(config, clock=clock or Clock())


def _feed(stage: DetectStage, raw: bytes, offset: int = 0) -> list:
    return asyncio.run(handle_safely(stage, Message(topics.TELEMETRY, "k", raw, offset), LoopMetrics()))


def _anomalous(outs: list) -> set[str]:
    return {record.entity_id for topic, _, record in outs if topic == topics.ANOMALIES}


def _letters(outs: list) -> list[DeadLetter]:
    return [record for topic, _, record in outs if topic == topics.DLQ]


def test_one_frame_with_a_renamed_entity_does_not_reset_the_shard_so_an_outage_is_still_detected() -> None:
    rng = np.random.default_rng(3)
    stage = _stage()
    for t in range(WARM):
        _feed(stage, _frame(t, CELLS, rng))
    _feed(stage, _frame(WARM, [CELLS[0], CELLS[1], "cell-0001-9"], rng))  # one renamed entity
    outs = _feed(stage, _frame(WARM + 1, CELLS, rng, down=CELLS[1]))
    assert _anomalous(outs) == {CELLS[1]}


def test_an_entity_missing_from_a_frame_keeps_its_baseline_and_learns_nothing() -> None:
    rng = np.random.default_rng(4)
    stage = _stage()
    for t in range(WARM):
        _feed(stage, _frame(t, CELLS, rng))
    for t in range(WARM, WARM + 10):
        assert _anomalous(_feed(stage, _frame(t, CELLS[:2], rng))) == set()
    assert _anomalous(_feed(stage, _frame(WARM + 10, CELLS, rng, down=CELLS[2]))) == {CELLS[2]}


def test_a_new_entity_warms_up_on_its_own_while_the_others_keep_scoring() -> None:
    rng = np.random.default_rng(5)
    stage = _stage()
    for t in range(WARM):
        _feed(stage, _frame(t, CELLS, rng))
    grown = [*CELLS, "cell-0001-4"]
    for t in range(WARM, 2 * WARM):
        _feed(stage, _frame(t, grown, rng))
    assert _anomalous(_feed(stage, _frame(2 * WARM, grown, rng, down="cell-0001-4"))) == {"cell-0001-4"}
    assert _anomalous(_feed(stage, _frame(2 * WARM + 1, grown[::-1], rng, down=CELLS[0]))) >= {CELLS[0]}


def test_a_copy_of_a_frame_sent_again_in_its_tick_teaches_the_known_entities_nothing() -> None:
    rng = np.random.default_rng(11)
    copied, clean = _stage(), _stage()
    for t in range(WARM):
        raw = _frame(t, CELLS, rng)
        for stage in (copied, clean):
            _feed(stage, raw)
        body = json.loads(raw)
        body["entity_ids"].append("cell-0001-9")
        body["values"].append(body["values"][0])
        for _ in range(3):  # the same tick again, with an extra entity
            assert _anomalous(_feed(copied, json.dumps(body).encode())) == set()
    outage = _frame(WARM, CELLS, rng, down=CELLS[0])
    assert _anomalous(_feed(copied, outage)) == _anomalous(_feed(clean, outage)) == {CELLS[0]}
    a = copied.states._shards[("sites-0001", "cell")].filter.expected()[:3]
    b = clean.states._shards[("sites-0001", "cell")].filter.expected()
    np.testing.assert_allclose(a, b)


def test_a_frame_listing_an_entity_twice_is_a_dead_letter_naming_it() -> None:
    stage = _stage()
    [letter] = _letters(_feed(stage, _frame(0, [CELLS[0], CELLS[0]], np.random.default_rng(0))))
    assert "duplicate entity ids: cell-0001-1" in letter.reason


def test_shards_and_entities_not_seen_for_the_time_to_live_are_evicted() -> None:
    clock = Clock()
    stage = _stage(clock, ttl_s=100.0)
    rng = np.random.default_rng(6)
    for t in range(5):
        _feed(stage, _frame(t, CELLS, rng))
        _feed(stage, _frame(t, [f"cell-0099-{n}" for n in range(1, 4)], rng, shard=f"fake-{t}"))
        _feed(stage, _frame(t, [*CELLS, f"cell-0077-{t}"], rng, shard="sites-0001"))
    assert len(stage.states) == 6 and stage.states.entities == 3 + 5 + 15
    for t in range(5, 10):
        clock.now += 30.0
        _feed(stage, _frame(t, CELLS, rng))
    assert len(stage.states) == 1 and stage.states.entities == 3


def test_fake_shards_and_entities_beyond_the_bounds_are_refused_and_the_known_ones_still_scored() -> None:
    rng = np.random.default_rng(7)
    stage = _stage(max_shards=2, max_entities=5)
    _feed(stage, _frame(0, CELLS, rng))
    outs = _feed(stage, _frame(1, [*CELLS, "cell-0001-4", "cell-0001-5", "cell-0001-6"], rng))
    [letter] = _letters(outs)
    assert "1 new entities not admitted" in letter.reason and "maximum of 5 entities" in letter.reason
    assert stage.states.entities == 5
    [letter] = _letters(_feed(stage, _frame(1, ["cell-0002-1"], rng, shard="other")))
    assert "maximum of 5 entities" in letter.reason
    assert len(stage.states) == 1


@pytest.mark.parametrize("value, reason", [(1e39, "exceed 1e+18"), (1e300, "exceed 1e+18")])
def test_a_value_beyond_float32s_reach_is_refused_with_a_reason(value: float, reason: str) -> None:
    raw = json.loads(_frame(0, CELLS, np.random.default_rng(0)))
    raw["values"][1][3] = value
    [letter] = _letters(_feed(_stage(), json.dumps(raw).encode()))
    assert reason in letter.reason


def test_repeated_huge_values_never_make_the_detectors_state_non_finite() -> None:
    rng = np.random.default_rng(8)
    stage = _stage()
    for t in range(40):
        raw = json.loads(_frame(t, CELLS, rng))
        if t % 3 == 0:
            raw["values"][0] = [1e18] * 9
        _feed(stage, json.dumps(raw).encode())
    outs = _feed(stage, _frame(40, CELLS, rng))
    for _, _, record in outs:
        if record.topic == topics.ANOMALIES:
            assert np.isfinite([record.value, record.expected, record.score]).all()


@pytest.mark.parametrize("tick, reason", [
    (4, "tick 4 of sites-0001/cell is before its last tick 9"),
    (1_000_000, "more than 5 ticks ahead of the latest tick seen (9)"),
])
def test_a_frame_behind_its_shard_or_far_ahead_of_the_stream_is_a_dead_letter(tick: int, reason: str) -> None:
    rng = np.random.default_rng(9)
    stage = _stage()
    for t in range(10):
        _feed(stage, _frame(t, CELLS, rng))
    [letter] = _letters(_feed(stage, _frame(tick, CELLS, rng)))
    assert reason in letter.reason
    assert _letters(_feed(stage, _frame(10, CELLS, rng))) == []  # the stream goes on


@pytest.mark.parametrize("tick", ["true", '"5"', "5.0"])
def test_a_tick_that_is_not_an_integer_is_a_schema_violation(tick: str) -> None:
    raw = _frame(5, CELLS, np.random.default_rng(0)).replace(b'"tick":5', b'"tick":' + tick.encode())
    [letter] = _letters(_feed(_stage(), raw))
    assert "schema violation at tick" in letter.reason


def test_a_detector_set_with_rows_selected_scores_old_rows_as_before_and_new_rows_as_a_fresh_one() -> None:
    rng = np.random.default_rng(10)
    d = directions_of(EntityKind.CELL)
    X = HEALTHY * (1 + 0.01 * rng.standard_normal((80, 3, 9)))
    grown, alone, fresh = (default_filter(d) for _ in range(3))
    for x in X[:40]:
        grown.step(x[:2])
        alone.step(x[:2])
    grown.select_rows(np.array([0, 1, -1]))
    for x in X[40:]:
        s_grown, _ = grown.step(x)
        s_alone, _ = alone.step(x[:2])
        s_fresh, _ = fresh.step(x[2:])
        np.testing.assert_allclose(s_grown[:2], s_alone, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(s_grown[2:], s_fresh, rtol=1e-5, atol=1e-5)


class _LastFrames:
    """A tap on the bus: the latest telemetry frame of each shard."""

    name = "last-frames"
    topics = (topics.TELEMETRY,)

    def __init__(self) -> None:
        self.frames: dict[tuple[str, str], TelemetryFrame] = {}

    async def handle(self, msg: Message) -> list:
        frame = TelemetryFrame.decode(msg.value)
        self.frames[(frame.shard, frame.kind.value)] = frame
        return []

    async def on_tick(self, tick: int) -> list:
        return []


def test_a_renamed_entity_frame_before_a_cell_outage_leaves_the_outage_detected_and_remediated() -> None:
    scenario = load_scenario("smoke")  # cell_outage on cell-0005-2 at tick 260
    tap = _LastFrames()

    async def go():
        loop = EmbeddedLoop(scenario, Settings(), taps=[tap])

        async def hook(state):
            if state.network.tick == 250:
                [frame] = [f for f in tap.frames.values() if "cell-0005-2" in f.entity_ids]
                ids = ["cell-0099-9" if e == "cell-0005-1" else e for e in frame.entity_ids]
                await loop.inject(topics.TELEMETRY, frame.shard,
                                  frame.model_copy(update={"entity_ids": ids}).encode())

        return await loop.run(on_tick=hook)

    state = asyncio.run(go())
    report = build_report(state.network, state.recorder, wall_seconds=1.0,
                          entity_reports=state.entity_reports)
    [outage] = [f for f in report.faults if f.root == "cell-0005-2"]
    assert outage.incident_id is not None and outage.ended_by == "action", outage
    assert report.faults_auto_remediated == 3
