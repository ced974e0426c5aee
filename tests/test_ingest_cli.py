"""``netloop ingest`` as a user runs it: samples as JSON Lines, a count table, one-line errors, and a
recording published to a Kafka cluster the test starts itself."""

import asyncio
import json
import re
import subprocess
import sys

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from schemas import TelemetryFrame, TickMark, TopologyEntity, topics
from streams.kafka.topics import partitions_of
from streams.settings import Settings
from tests.test_ingest_otlp import PROTOBUF, _gauge, _request
from tests.test_ingest_pm import MEAS_COLLEC
from tests.test_ingest_prometheus import exporter
from tests.test_kafka_catalogue import CATALOGUE, LEAVES, TICKS, write_recording

CLI = [sys.executable, "-c", "from streams.cli import main; main()", "ingest"]
PM_RULES = """rules:
  - match: {NRCellDU: "(?P<cell>.+)"}
    entity: "{ManagedElement}/cell-{cell}"
  - match: {NRCellCU: "(?P<cell>.+)"}
    entity: "{ManagedElement}/cell-{cell}"
"""
ANY_RULES = """unmatched: reject
rules:
  - match: {__name__: "amf\\\\.(?P<kpi>.+)"}
    entity: "{host.name}"
    kpi: "{kpi}"
  - match: {__name__: "upf_.*", instance: ".+"}
    entity: "{instance}"
  - match: {__name__: ".*_bucket"}
    drop: true
"""


def netloop(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def rules(tmp_path):
    (tmp_path / "pm.yaml").write_text(PM_RULES)
    (tmp_path / "any.yaml").write_text(ANY_RULES)
    return tmp_path


def test_ingest_from_a_folder_of_pm_files_prints_the_samples_as_json_lines(rules, tmp_path):
    (tmp_path / "pm").mkdir()
    (tmp_path / "pm" / "A1.xml").write_text(MEAS_COLLEC)
    done = netloop("--from", "pm", "--rules", str(rules / "pm.yaml"), "--dir", str(tmp_path / "pm"), "--once")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0] == {"time_s": 1772367300.0, "entity": "gNB-7/cell-1", "kpi": "DRB.UEThpDl",
                        "value": 120.5, "counter": False}
    assert len(lines) == 6
    assert "rejected pm:" in done.stderr and "3 measResults for 2 measTypes" in done.stderr


def test_ingest_count_prints_a_table_of_samples_per_kpi_and_what_was_skipped(rules, tmp_path):
    (tmp_path / "pm").mkdir()
    (tmp_path / "pm" / "A1.xml").write_text(MEAS_COLLEC)
    done = netloop("--from", "pm", "--rules", str(rules / "pm.yaml"), "--dir", str(tmp_path / "pm"), "--once",
                   "--count")
    assert done.returncode == 0, done.stderr
    assert re.search(r"DRB\.UEThpUl\s+│\s+2", done.stdout)
    assert re.search(r"skipped: suspect\s+│\s+2", done.stdout)


def test_ingest_from_prometheus_scrapes_each_target_once(rules):
    async def go(rule_file):
        async with exporter() as url:
            proc = await asyncio.create_subprocess_exec(
                *CLI, "--from", "prometheus", "--rules", rule_file, "--target", url + "/metrics", "--once",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode(), err.decode()

    code, out, err = asyncio.run(go(str(rules / "any.yaml")))
    assert code == 0, err
    kpis = {json.loads(line)["kpi"] for line in out.splitlines()}
    assert {"upf_sessions", "upf_packets_total", "upf_latency_seconds_sum"} <= kpis


def test_ingest_from_otlp_receives_until_max_samples(rules):
    async def go():
        proc = await asyncio.create_subprocess_exec(
            *CLI, "--from", "otlp", "--rules", str(rules / "any.yaml"), "--listen", "127.0.0.1:0",
            "--max", "1", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(60):
                line = (await proc.stderr.readline()).decode()
                url = re.search(r"http://\S+", line).group(0)
                async with httpx.AsyncClient() as client:
                    resp = await client.post(url, content=_request(_gauge("amf.registered_ues", 3.0))
                                             .SerializeToString(), headers=PROTOBUF)
                out, err = await proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
        return resp.status_code, proc.returncode, out.decode(), err.decode()

    status, code, out, err = asyncio.run(go())
    assert status == 200 and code == 0, err
    assert json.loads(out) == {"time_s": 1767225600.0, "entity": "amf-1", "kpi": "registered_ues",
                               "value": 3.0, "counter": False}


@pytest.mark.parametrize(("args", "message"), [
    ([], "--from is required"),
    (["--from", "snmp", "--rules", "R"], "--from 'snmp': expected one of prometheus, otlp, pm"),
    (["--from", "pm"], "--rules RULES.yaml is required"),
    (["--from", "pm", "--rules", "{dir}/missing.yaml"], "missing.yaml: cannot read"),
    (["--from", "pm", "--rules", "{dir}/bad.yaml"], "rules[0].match.job: invalid regex"),
    (["--from", "pm", "--rules", "{dir}/pm.yaml"], "--from pm needs --dir FOLDER"),
    (["--from", "pm", "--rules", "{dir}/pm.yaml", "--dir", "{dir}/nope"], "not a folder"),
    (["--from", "prometheus", "--rules", "{dir}/pm.yaml"], "needs at least one --target"),
    (["--from", "prometheus", "--rules", "{dir}/pm.yaml", "--target", "ftp://x"], "--target: target 'ftp://x'"),
    (["--from", "otlp", "--rules", "{dir}/pm.yaml", "--listen", "nowhere"], "--listen 'nowhere': expected"),
    (["--from", "otlp", "--rules", "{dir}/pm.yaml", "--listen", "192.0.2.1:4318"], "cannot listen there"),
])
def test_bad_flags_or_files_exit_2_with_one_line_naming_the_problem(rules, args, message):
    (rules / "bad.yaml").write_text('rules:\n  - match: {job: "(x"}\n    entity: e\n')
    done = netloop(*[a.format(dir=rules) for a in args])
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_ingest_of_a_recording_with_a_bad_catalogue_exits_2_naming_the_field(tmp_path):
    write_recording(tmp_path)
    (tmp_path / "bad.yaml").write_text(CATALOGUE.replace("bad: down", "bad: sideways"))
    done = netloop("--from", "csv", str(tmp_path / "fabric.csv"), "--catalogue", str(tmp_path / "bad.yaml"),
                   "--broker", "kafka://127.0.0.1:9")  # never reached: the catalogue is checked first
    assert done.returncode == 2
    assert "bad.yaml" in done.stderr and "kinds.leaf.kpis.0.bad" in done.stderr
    assert "Traceback" not in done.stderr


def test_ingest_of_a_recording_without_a_broker_prints_its_samples_as_json_lines(tmp_path):
    write_recording(tmp_path)
    done = netloop("--from", "csv", str(tmp_path / "fabric.csv"), "--max", "4")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(x["entity"], x["kpi"]) for x in lines] == [
        ("spine-1", "cpu_util"), ("leaf-1", "rx_pps"), ("leaf-1", "latency_ms"), ("leaf-2", "rx_pps")]


def test_ingest_of_a_recording_with_a_broker_publishes_its_topology_frames_and_a_mark_per_tick(
        tmp_path, kafka, monkeypatch):
    write_recording(tmp_path)
    settings = Settings(broker=kafka.url, partitions=2)
    for t in topics.ALL_TOPICS:
        kafka.create_topic(t, partitions_of(t, settings))
    monkeypatch.setenv("NETLOOP_PARTITIONS", "2")  # the ingest process publishes marks for 2 partitions
    done = netloop("--from", "csv", str(tmp_path / "fabric.csv"), "--broker", kafka.url,
                   "--catalogue", str(tmp_path / "fabric.yaml"), "--topology", str(tmp_path / "graph.json"))
    assert done.returncode == 0, done.stderr
    assert f"{2 * TICKS} frames, {TICKS} tick marks, 0 dead letters" in done.stderr

    frames, marks = asyncio.run(read_telemetry(kafka.url, want=4 * TICKS))
    assert {(f.kind, tuple(f.entity_ids)) for f in frames} == {("spine", ("spine-1",)), ("leaf", LEAVES)}
    assert sorted(f.tick for f in frames if f.kind == "leaf") == list(range(TICKS))
    for p in range(2):  # every tick closed on each partition, in order
        assert [m.tick_closed for m in marks if m.source_partition == p] == list(range(TICKS))
    assert {m.partitions for m in marks} == {2}
    [leaf] = [e for e in asyncio.run(read_topology(kafka.url)) if e.entity_id == "leaf-2"]
    assert leaf.kind == "leaf" and leaf.depends_on == ["spine-1"]


async def read_telemetry(url: str, *, want: int) -> tuple[list[TelemetryFrame], list[TickMark]]:
    """The first ``want`` records of the telemetry topic: frames, and marks with the partition they are on
    as their source."""
    frames: list[TelemetryFrame] = []
    marks: list[TickMark] = []
    for m in await _consume(url, topics.TELEMETRY, want):
        if b'"tick_closed"' in m.value:
            marks.append(TickMark.decode(m.value).model_copy(update={"source_partition": m.partition}))
        else:
            frames.append(TelemetryFrame.decode(m.value))
    return frames, marks


async def read_topology(url: str) -> list[TopologyEntity]:
    return [TopologyEntity.decode(m.value) for m in await _consume(url, topics.TOPOLOGY, 1 + len(LEAVES))]


async def _consume(url: str, topic: str, want: int) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=url.removeprefix("kafka://"),
                                auto_offset_reset="earliest", fetch_max_wait_ms=20)
    await consumer.start()
    got: list = []
    try:
        async with asyncio.timeout(60):
            while len(got) < want:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    got.extend(batch)
    finally:
        await consumer.stop()
    return got
