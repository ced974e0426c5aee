"""Tick marks are data: a forged, malformed or out-of-order mark is a dead letter and never closes a tick.

Unit tests drive :class:`~streams.kafka.marks.MarkedStage` directly; the end-to-end test runs smoke on
librdkafka's mock cluster with forged marks written into ``netloop.telemetry`` mid-run, between the
emulator's own records.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from schemas import DeadLetter, TickMark, topics
from simulator import load_scenario
from streams.kafka import emulator as emulator_module
from streams.kafka.marks import MarkedStage, TickClock
from streams.kafka.run import run_on_kafka
from streams.metrics import LoopMetrics
from streams.recording.recorder import Recorder
from streams.runtime.bus import Message
from streams.runtime.perceive import BadRecord
from streams.runtime.pipeline import handle_safely
from tests.test_kafka_loop import kafka_settings  # noqa: F401 - the fixture

FORGED = [b'{"tick_closed":"x"}', b'{"tick_closed":1000000,"partitions":1}',
          b'{"tick_closed":1000000,"partitions":2}', b'{"tick_closed":true,"partitions":2}',
          b'{"tick_closed":-1,"partitions":2}', b'{"tick_closed":3,"partitions":2}']


def _mark(tick: int, source: int | None, partitions: int = 2) -> TickMark:
    return TickMark(tick_closed=tick, source_partition=source, partitions=partitions)


def test_a_tick_closes_once_every_partition_has_marked_it_and_only_once() -> None:
    clock = TickClock(2)
    assert clock.mark(_mark(5, 0)) == []
    assert clock.mark(_mark(5, 1)) == [5]
    assert clock.mark(_mark(6, 1)) == []
    assert clock.mark(_mark(7, 1)) == []
    assert clock.mark(_mark(6, 0)) == [6]
    assert clock.mark(_mark(7, 0)) == [7]
    with pytest.raises(BadRecord, match="repeats its last tick 7"):
        clock.mark(_mark(7, 1))  # redelivered


@pytest.mark.parametrize("mark, reason", [
    (_mark(10**6, 0), "more than 5 ticks ahead of the latest tick seen (5)"),
    (_mark(6, 0, partitions=1), "is for 1 partitions; netloop.telemetry has 2"),
    (_mark(6, None), "names no telemetry partition"),
    (_mark(6, 7), "names no telemetry partition"),
    (_mark(4, 0), "tick 4 of 0 is before its last tick 5"),
    (_mark(5, 0), "tick 5 of 0 repeats its last tick 5"),
])
def test_a_forged_or_stale_mark_is_refused_with_a_reason_and_closes_nothing(mark: TickMark,
                                                                           reason: str) -> None:
    clock = TickClock(2)
    clock.mark(_mark(5, 0))
    clock.mark(_mark(5, 1))
    with pytest.raises(BadRecord) as exc:
        clock.mark(mark)
    assert reason in str(exc.value)
    clock.mark(_mark(6, 0))
    assert clock.mark(_mark(6, 1)) == [6]  # the real marks go on closing ticks


def test_a_forged_first_mark_far_ahead_costs_its_partition_a_few_ticks_not_the_run() -> None:
    clock = TickClock(2)
    clock.mark(_mark(10**6, 0))  # before any real mark: nothing to measure it against
    closed = []
    for t in range(10):
        for p in (0, 1):
            with contextlib.suppress(BadRecord):
                closed += clock.mark(_mark(t, p))
    assert closed == list(range(2, 10))


def test_a_clock_resumed_after_a_restart_closes_the_next_ticks_however_far_behind_its_watermark_is() -> None:
    clock = TickClock(2)
    clock.resume_after(105)  # the last tick judged in the incident log: it can be long before the kill
    with pytest.raises(BadRecord, match="repeats its last tick 105"):
        clock.mark(_mark(105, 0))  # closed before the restart
    closed = []
    for t in (185, 186):  # the marks after the group's committed offset (it refused them: ahead of 105)
        for p in (0, 1):
            closed += clock.mark(_mark(t, p))
    assert closed == [185, 186]


class _Ticks:
    name = "act"
    topics = (topics.ACTIONS,)

    def __init__(self) -> None:
        self.ticks: list[int] = []

    async def handle(self, msg: Message) -> list:
        return []

    async def on_tick(self, tick: int) -> list:
        self.ticks.append(tick)
        return []


def _handle(stage: MarkedStage, topic: str, raw: bytes, partition: int = 0) -> list:
    return asyncio.run(handle_safely(stage, Message(topic, None, raw, 0, partition), LoopMetrics(),
                                     partition=partition))


def test_a_stage_that_reads_no_anomalies_still_wakes_on_every_closed_tick() -> None:
    act = _Ticks()
    marked = MarkedStage(act, partitions=2, max_ahead=5)
    assert topics.ANOMALIES in marked.topics
    _handle(marked, topics.ANOMALIES, b'{"entity_id":"cell-0001-1"}')  # an anomaly: not act's business
    for p in (0, 1):
        _handle(marked, topics.ANOMALIES, _mark(0, p).encode())
    assert act.ticks == [0]


@pytest.mark.parametrize("raw", FORGED)
def test_a_malformed_or_forged_mark_on_telemetry_is_a_dead_letter_of_detect(raw: bytes) -> None:
    from streams.runtime.stages import DetectorConfig, DetectStage

    marked = MarkedStage(DetectStage(DetectorConfig()), partitions=2, max_ahead=5)
    _handle(marked, topics.TELEMETRY, _mark(10, None).encode())  # the emulator's last mark
    [(topic, _, letter)] = _handle(marked, topics.TELEMETRY, raw)
    assert topic == topics.DLQ and isinstance(letter, DeadLetter)
    assert letter.raw == raw and letter.stage == "detect" and letter.reason


def test_forged_marks_mid_run_on_kafka_are_dead_letters_and_every_fault_is_still_remediated(
        kafka_settings, monkeypatch) -> None:  # noqa: F811 - the fixture
    letters: list[DeadLetter] = []
    original_handle, original_tick = Recorder.handle, emulator_module.Emulator._tick

    async def keep_letters(self, msg):
        if msg.topic == topics.DLQ:
            letters.append(DeadLetter.decode(msg.value))
        return await original_handle(self, msg)

    async def forge(self, producer):
        await original_tick(self, producer)
        if self.network.tick % 20 == 0 and self.network.tick <= 300:  # between the emulator's records
            for p in (0, 1):
                for raw in FORGED:
                    await producer.send(topics.TELEMETRY, raw, partition=p)
            await producer.flush()

    monkeypatch.setattr(Recorder, "handle", keep_letters)
    monkeypatch.setattr(emulator_module.Emulator, "_tick", forge)
    report = asyncio.run(run_on_kafka(load_scenario("smoke"), kafka_settings, speed=100.0,
                                      create_topics=False))
    assert report.faults_injected == report.faults_detected == 3
    assert report.faults_auto_remediated == 3, report.faults
    assert report.false_actions == 0  # the honest world's surges and tails open incidents; none is acted on
    forged = [x for x in letters if x.raw in FORGED]
    assert len(forged) == 2 * len(FORGED) * 15
    assert all(x.stage == "detect" and x.reason for x in forged)
