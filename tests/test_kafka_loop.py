"""The loop on Kafka: faust agents on a broker the test starts itself, tools over MCP HTTP."""

import asyncio
import socket

import pytest
from aiokafka import AIOKafkaProducer

from schemas import DeadLetter, TickMark, topics
from simulator import load_scenario
from streams.kafka_app import _TickClock
from streams.kafka_run import run_on_kafka
from streams.kafka_topics import partitions_of
from streams.recorder import Recorder
from streams.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def kafka_settings(kafka):
    settings = Settings(broker=kafka.url, partitions=2, fetch_max_wait_ms=20,
                        mcp_url=f"http://127.0.0.1:{_free_port()}/mcp")
    for t in topics.ALL_TOPICS:
        kafka.create_topic(t, partitions_of(t, settings))
    return settings


def test_smoke_on_kafka_detects_localizes_and_remediates_every_fault(kafka_settings, monkeypatch):
    letters: list[DeadLetter] = []
    original = Recorder.handle

    async def keep_letters(self, msg):
        out = await original(self, msg)
        if msg.topic == topics.DLQ:
            letters.append(DeadLetter.decode(msg.value))
        return out

    monkeypatch.setattr(Recorder, "handle", keep_letters)

    async def go():
        producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.broker.removeprefix("kafka://"))
        await producer.start()
        await producer.send_and_wait(topics.TELEMETRY, b"\x00 not a frame", key=b"bad", partition=1)
        await producer.stop()
        return await run_on_kafka(load_scenario("smoke"), kafka_settings, speed=100.0,
                                  create_topics=False)

    report = asyncio.run(go())
    assert report.faults_injected == report.faults_detected == 3
    assert report.faults_localized_top1 == report.fault_type_correct == 3
    assert report.faults_auto_remediated == 3, report.faults
    assert report.false_incidents == 0 and report.false_actions == 0
    assert report.mttr_ticks < report.mttr_ticks_without_loop
    [letter] = letters
    assert letter.source_topic == topics.TELEMETRY and letter.stage == "detect"
    assert letter.partition == 1 and letter.offset == 0 and letter.raw == b"\x00 not a frame"
    assert report.dead_letters == 1


def test_a_tick_closes_once_every_partition_has_marked_it_and_only_once():
    clock = _TickClock()
    assert clock.mark(TickMark(tick_closed=5, source_partition=0, partitions=2)) == []
    assert clock.mark(TickMark(tick_closed=5, source_partition=0, partitions=2)) == []
    assert clock.mark(TickMark(tick_closed=5, source_partition=1, partitions=2)) == [5]
    assert clock.mark(TickMark(tick_closed=5, source_partition=1, partitions=2)) == []  # redelivered
    assert clock.mark(TickMark(tick_closed=6, source_partition=1, partitions=2)) == []
    assert clock.mark(TickMark(tick_closed=7, source_partition=0, partitions=2)) == []
    assert clock.mark(TickMark(tick_closed=6, source_partition=0, partitions=2)) == [6]


def test_a_cluster_that_cannot_create_topics_gets_a_message_listing_them(kafka):
    from streams.kafka_topics import TopicError, ensure_topics

    expected = r"netloop\.topology \(1 partition, compacted\).*netloop\.telemetry \(3 partitions\)"
    with pytest.raises(TopicError, match=expected):
        asyncio.run(ensure_topics(Settings(broker=kafka.url, partitions=3)))


def test_existing_topics_are_left_alone(kafka_settings):
    from streams.kafka_topics import ensure_topics

    assert asyncio.run(ensure_topics(kafka_settings)) == []


def test_the_kafka_bench_scores_every_frame_it_produced(kafka_settings):
    from streams.kafka_bench import detect_rate

    rate = asyncio.run(detect_rate(kafka_settings, n_frames=24, entities=40, shards=4, timeout=60))
    assert rate > 0  # no threshold: the bench's numbers live in the README, not in tests
