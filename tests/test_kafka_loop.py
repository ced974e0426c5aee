"""The loop on Kafka: faust agents on a broker the test starts itself, tools over MCP HTTP."""

import asyncio
import socket

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from schemas import AnomalyEvent, DeadLetter, topics
from simulator import load_scenario
from streams.kafka.agents import KafkaHooks, create_app
from streams.kafka.run import run_on_kafka
from streams.kafka.topics import partitions_of
from streams.metrics import LoopMetrics
from streams.recording.recorder import Recorder
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
        return await run_on_kafka(load_scenario("smoke").idealized(), kafka_settings, speed=100.0,
                                  create_topics=False)

    report = asyncio.run(go())
    assert report.faults_injected == report.faults_detected == 3
    assert report.faults_localized_top1 == report.fault_type_correct == 3
    assert report.faults_auto_remediated == 3, report.faults
    assert report.false_incidents <= 1 and report.false_actions == 0  # as embedded: one noise incident
    assert report.mttr_ticks < report.mttr_ticks_without_loop
    [letter] = letters
    assert letter.source_topic == topics.TELEMETRY and letter.stage == "detect"
    assert letter.partition == 1 and letter.offset == 0 and letter.raw == b"\x00 not a frame"
    assert report.dead_letters == 1


def test_a_cluster_that_cannot_create_topics_gets_a_message_listing_them(kafka):
    from streams.kafka.topics import TopicError, ensure_topics

    expected = r"netloop\.topology \(1 partition, compacted\).*netloop\.telemetry \(3 partitions\)"
    with pytest.raises(TopicError, match=expected):
        asyncio.run(ensure_topics(Settings(broker=kafka.url, partitions=3)))


def test_existing_topics_are_left_alone(kafka_settings):
    from streams.kafka.topics import ensure_topics

    assert asyncio.run(ensure_topics(kafka_settings)) == []


def test_the_kafka_bench_scores_every_frame_it_produced(kafka_settings):
    from streams.bench.kafka import detect_rate

    rate = asyncio.run(detect_rate(kafka_settings, n_frames=24, entities=40, shards=4, timeout=60))
    assert rate > 0  # no threshold: the bench's numbers live in the README, not in tests


class _Gate:
    """A stage that holds its first record until the test opens the gate, then emits an anomaly
    per record."""

    name = "gate"
    topics = (topics.DLQ,)

    def __init__(self) -> None:
        self.holding, self.open = asyncio.Event(), asyncio.Event()

    async def handle(self, msg):
        self.holding.set()
        await self.open.wait()
        event = AnomalyEvent(entity_id="cell-0001-1", kpi="cqi", tick=msg.offset, value=1.0,
                             expected=10.0, score=9.0, detector="holt")
        return [(topics.ANOMALIES, event.entity_id, event)]

    async def on_tick(self, tick):
        return []


class _LagWatch(LoopMetrics):
    """Metrics that also queue every consumer-lag sample the worker publishes."""

    def __init__(self) -> None:
        super().__init__(CollectorRegistry())
        self.samples: asyncio.Queue[dict] = asyncio.Queue()

    def set_consumer_lag(self, lag):
        super().set_consumer_lag(lag)
        self.samples.put_nowait(dict(lag))

    async def until(self, want: dict, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while await self.samples.get() != want:
                pass


def test_a_worker_reports_the_records_a_stage_has_not_handled_yet_as_consumer_lag(kafka_settings):
    async def go():
        metrics, gate = _LagWatch(), _Gate()
        app = create_app(kafka_settings.model_copy(update={"app_id": "netloop-lag"}), metrics=metrics,
                         hooks=KafkaHooks(extra=[gate]), only=frozenset({"gate"}), lag_interval=0.02)
        await app.start()
        producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.broker.removeprefix("kafka://"))
        await producer.start()
        try:
            for i in range(5):
                await producer.send_and_wait(topics.DLQ, b"%d" % i, partition=0)
            await asyncio.wait_for(gate.holding.wait(), 30)
            await metrics.until({("gate", topics.DLQ, 0): 5})  # the first record is still in hand
            gate.open.set()
            await metrics.until({("gate", topics.DLQ, 0): 0})
        finally:
            await producer.stop()
            await app.stop()
        return metrics.registry

    registry = asyncio.run(go())
    lag = registry.get_sample_value("netloop_consumer_lag_records",
                                    {"stage": "gate", "topic": topics.DLQ, "partition": "0"})
    assert lag == 0
    assert registry.get_sample_value("netloop_stage_records_in_total", {"stage": "gate"}) == 5
    assert registry.get_sample_value("netloop_stage_records_out_total", {"stage": "gate"}) == 5
    assert registry.get_sample_value("netloop_stage_processing_seconds_count", {"stage": "gate"}) == 5
    assert registry.get_sample_value("netloop_detect_anomalies_total", {"kpi": "cqi"}) == 5
