"""A deployment's own KPI catalogue on Kafka: an outside recording published as topology, frames and tick
marks, read by a worker started with that catalogue, localized to its true root."""

import asyncio
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from schemas import topics
from streams.ingest.feed import prepare, sample_source
from streams.kafka.agents import KafkaHooks, create_app
from streams.kafka.publish import Sent, publish_records
from streams.kafka.topics import partitions_of
from streams.recording.recorder import Recorder
from streams.settings import Settings

TICKS, FAULT_AT, FAULT_END, STEP_S, T0 = 300, 220, 260, 60, 1_700_000_000
LEAVES = ("leaf-1", "leaf-2", "leaf-3")
CATALOGUE = """\
name: fabric
kinds:
  spine:
    ids: "^spine-"
    kpis:
      - {name: cpu_util, bad: up, unit: ratio}
  leaf:
    ids: "^leaf-"
    kpis:
      - {name: rx_pps, bad: down, unit: packets/s}
      - {name: latency_ms, bad: up, unit: ms}
"""


def write_recording(folder: Path, *, gap: range = range(0), seed: int = 11) -> None:
    """A spine upstream of three leaves; from FAULT_AT to FAULT_END the spine's CPU is pinned and every
    leaf behind it slows down and loses traffic; nothing was collected in the ticks of ``gap``. Wide
    CSV, a graph and the catalogue."""
    rng = np.random.default_rng(seed)
    data = {"spine-1:cpu-util": 0.3 + 0.02 * rng.standard_normal(TICKS)}
    for leaf in LEAVES:
        data[f"{leaf}:rx-pps"] = 1000 + 20 * rng.standard_normal(TICKS)
        data[f"{leaf}:latency-ms"] = 10 + 0.5 * rng.standard_normal(TICKS)
    hit = slice(FAULT_AT, FAULT_END)
    data["spine-1:cpu-util"][hit] = 0.97 + 0.01 * rng.standard_normal(FAULT_END - FAULT_AT)
    for leaf in LEAVES:
        data[f"{leaf}:latency-ms"][hit] += 25
        data[f"{leaf}:rx-pps"][hit] -= 400
    with (folder / "fabric.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", *data])
        for t in range(TICKS):
            if t in gap:
                continue
            w.writerow([T0 + t * STEP_S, *(f"{v[t]:.4f}" for v in data.values())])
    (folder / "graph.json").write_text(json.dumps({"edges": [["spine-1", leaf] for leaf in LEAVES]}))
    (folder / "fabric.yaml").write_text(CATALOGUE)


@pytest.fixture
def kafka_settings(tmp_path: Path, kafka) -> Settings:
    settings = Settings(broker=kafka.url, partitions=2, fetch_max_wait_ms=20,
                        catalogue=tmp_path / "fabric.yaml", app_id="netloop-fabric")
    for t in topics.ALL_TOPICS:
        kafka.create_topic(t, partitions_of(t, settings))
    return settings


def test_a_worker_with_a_declared_catalogue_localizes_a_published_recording_to_its_true_root(
        tmp_path, kafka_settings):
    write_recording(tmp_path)
    recorder, sent = run_worker(tmp_path, kafka_settings)
    assert sent.ticks == TICKS and sent.dead_letters == 0
    [(tick, root)] = opened(recorder)  # one incident: no false one
    assert FAULT_AT <= tick < FAULT_END and root == "spine-1"
    assert recorder.dead_letter_count == 0, list(recorder.dead_letters)[:3]


def test_a_gap_in_a_recording_longer_than_the_tick_window_does_not_stop_the_workers_clock(
        tmp_path, kafka_settings):
    gap = range(100, 100 + 3 * kafka_settings.tick_max_ahead)  # the collector was down
    write_recording(tmp_path, gap=gap)
    recorder, sent = run_worker(tmp_path, kafka_settings)  # times out if a tick after the gap never closes
    assert [root for tick, root in opened(recorder) if FAULT_AT <= tick < FAULT_END] == ["spine-1"]
    assert sent.frames == 2 * (TICKS - len(gap))
    # detect follows its shards again after the gap as it does embedded: the frames of the ticks before
    # it does so are refused as too far ahead, and nothing else is
    letters = list(recorder.dead_letters)
    assert all(d.source_topic == topics.TELEMETRY and "ahead" in d.reason for d in letters), letters[:3]


def opened(recorder: Recorder) -> list[tuple[int, str]]:
    """(opened tick, first candidate) of every incident."""
    firsts = [recorder.first(i) for i in recorder.incidents]
    return [(i.opened_tick, i.candidates[0].entity_id) for i in firsts]


def run_worker(folder: Path, settings: Settings) -> tuple[Recorder, Sent]:
    """Start a worker with the settings' catalogue, publish the recording, wait for verify to close its
    last tick."""
    prepared = prepare(sample_source(folder / "fabric.csv", "csv"), name="fabric",
                       catalogue=settings.catalogue, topology=folder / "graph.json")
    last = prepared.tick_of(T0 + (TICKS - 1) * STEP_S)

    async def go() -> tuple[Recorder, Sent]:
        recorder, done = Recorder(), asyncio.Event()

        def closed(stage: str, tick: int) -> None:
            if stage == "verify" and tick >= last:
                done.set()

        app = create_app(settings, executor=None, hooks=KafkaHooks(extra=[recorder], on_tick_closed=closed))
        await app.start()
        try:
            sent = await publish_records(settings.broker, prepared.records(), settings)
            await asyncio.wait_for(done.wait(), 60)
        finally:
            await app.stop()
        return recorder, sent

    return asyncio.run(go())
