"""Outside telemetry through the loop: a recording the test writes (wide and long CSV, a graph and
labels), replayed with a declared or inferred catalogue and scored against its labelled fault."""

import asyncio
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from schemas import TelemetryFrame, topics
from streams.evaluate.labelled import Label, Opened, score
from streams.ingest.feed import infer_catalogue, prepare, sample_source

TICKS, FAULT_AT, FAULT_END, STEP_S, T0 = 300, 220, 260, 60, 1_700_000_000
EDGES = ("edge-1", "edge-2", "edge-3")
CATALOGUE = """\
name: lab
kinds:
  core:
    ids: "^core-"
    kpis:
      - {name: cpu_util, bad: up, unit: ratio}
  edge:
    ids: "^edge-"
    kpis:
      - {name: rx_pps, bad: down, unit: packets/s}
      - {name: latency_ms, bad: up, unit: ms}
"""


def netloop(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from streams.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=timeout)


def series(seed: int = 7) -> dict[str, np.ndarray]:
    """Noisy steady KPIs; from FAULT_AT to FAULT_END the core's CPU is pinned and every edge behind it
    slows down and loses traffic."""
    rng = np.random.default_rng(seed)
    out = {"core-1:cpu-util": 0.3 + 0.02 * rng.standard_normal(TICKS)}
    for e in EDGES:
        out[f"{e}:rx-pps"] = 1000 + 20 * rng.standard_normal(TICKS)
        out[f"{e}:latency-ms"] = 10 + 0.5 * rng.standard_normal(TICKS)
    hit = slice(FAULT_AT, FAULT_END)
    out["core-1:cpu-util"][hit] = 0.97 + 0.01 * rng.standard_normal(FAULT_END - FAULT_AT)
    for e in EDGES:
        out[f"{e}:latency-ms"][hit] += 25
        out[f"{e}:rx-pps"][hit] -= 400
    return out


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    data = series()
    with (tmp_path / "wide.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", *data])
        for t in range(TICKS):
            if t in (100, 101):  # two minutes the collector missed
                continue
            w.writerow([T0 + t * STEP_S, *(f"{v[t]:.4f}" for v in data.values())])
    with (tmp_path / "long.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", "entity", "kpi", "value"])
        for t in range(TICKS):
            for col, v in data.items():
                entity, kpi = col.split(":")
                if t not in (100, 101):
                    w.writerow([T0 + t * STEP_S, entity, kpi, f"{v[t]:.4f}"])
    edges = [["core-1", e] for e in EDGES]
    (tmp_path / "graph.json").write_text(json.dumps({"edges": edges}))
    (tmp_path / "labels.jsonl").write_text(json.dumps(
        {"start": T0 + FAULT_AT * STEP_S, "end": T0 + FAULT_END * STEP_S, "root_cause": "core-1"}) + "\n")
    (tmp_path / "lab.yaml").write_text(CATALOGUE)
    return tmp_path


@pytest.mark.parametrize(("fmt", "name", "declared"),
                         [("csv", "wide.csv", False), ("long", "long.csv", True)])
def test_a_labelled_recording_replayed_through_the_loop_is_scored_as_detected_and_localized(
        lab, fmt, name, declared):
    extra = ["--catalogue", str(lab / "lab.yaml")] if declared else []
    done = netloop("replay", str(lab / name), "--format", fmt, "--topology", str(lab / "graph.json"),
                   "--labels", str(lab / "labels.jsonl"), "--dry-run", "--json", "-", *extra)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["faults_injected"] == report["faults_detected"] == 1
    assert report["faults_localized_top1"] == report["faults_localized_top3"] == 1
    assert report["false_incidents"] == 0 and report["incidents_opened"] == 1
    assert 0 <= report["mttd_ticks"] <= 2
    assert report["replay"]["dead_letters"] == 0
    [planned] = [p for p in report["replay"]["planned"] if p["incident_id"].endswith("core-1")][:1]
    assert planned["decision"] == "escalate"  # no policy knows a fault of a core: a person decides


def test_a_recording_without_a_catalogue_gets_a_kind_per_name_prefix_with_the_kpis_it_reports(lab):
    prepared = prepare(sample_source(lab / "wide.csv", "csv"), name="lab", topology=lab / "graph.json")
    assert prepared.catalogue.observable == ("core", "edge")
    assert prepared.catalogue.kpi_names("edge") == ("latency_ms", "rx_pps")
    assert prepared.tick_s == STEP_S and prepared.tick_of(T0 + FAULT_AT * STEP_S) == FAULT_AT
    [edge] = [e for e in prepared.topology if e.entity_id == "edge-2"]
    assert edge.kind == "edge" and edge.depends_on == ["core-1"]
    frames = [TelemetryFrame.decode(r.value) for r in prepared.records() if r.topic == topics.TELEMETRY]
    assert sorted({f.tick for f in frames}) == [t for t in range(TICKS) if t not in (100, 101)]


def test_a_declared_catalogue_that_misses_a_kpi_of_the_recording_exits_2_naming_it(lab):
    (lab / "short.yaml").write_text(CATALOGUE.replace("      - {name: latency_ms, bad: up, unit: ms}\n", ""))
    done = netloop("replay", str(lab / "wide.csv"), "--format", "csv", "--catalogue", str(lab / "short.yaml"),
                   "--dry-run")
    assert done.returncode == 2
    assert "kinds.edge.kpis" in done.stderr and "latency_ms" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("line", "field"), [
    ('{"start": 1, "end": 2}', "root_cause"),
    ('{"start": "yesterday", "end": 2, "root_cause": "a"}', "start"),
    ('{"start": 5, "end": 2, "root_cause": "a"}', "end"),
    ("not json", "not JSON"),
])
def test_a_bad_labels_line_exits_2_naming_the_line_and_field(lab, line, field):
    (lab / "bad.jsonl").write_text(line + "\n")
    done = netloop("replay", str(lab / "wide.csv"), "--format", "csv", "--labels", str(lab / "bad.jsonl"),
                   "--dry-run")
    assert done.returncode == 2
    assert "line 1" in done.stderr and field in done.stderr and "Traceback" not in done.stderr


def test_an_incident_outside_every_labelled_window_is_false_and_the_first_inside_one_is_scored():
    labels = [Label(start=600, end=900, root_cause="a"), Label(start=1200, end=1260, root_cause="b")]
    opened = [Opened(opened_tick=3, candidates=["x"]), Opened(opened_tick=11, candidates=["x", "a"]),
              Opened(opened_tick=12, candidates=["a"]), Opened(opened_tick=40, candidates=["b"])]
    s = score(opened, labels, lambda t: int(t // 60), grace_ticks=2)
    assert (s.faults_detected, s.faults_localized_top1, s.faults_localized_top3) == (1, 0, 1)
    assert s.false_incidents == 2 and s.mttd_ticks == 1.0
    assert [f.detected for f in s.faults] == [True, False]


def test_stitching_cases_cut_from_one_recording_gives_back_its_timeline_and_a_label_per_case(tmp_path):
    cases = tmp_path / "cases"
    for name, start, root in (("c1", 0, "a"), ("c2", 5, "b")):
        d = cases / name
        d.mkdir(parents=True)
        rows = ["time,a:x,b:x"] + [f"{T0 + 60 * t},{t},{10 * t}" for t in range(start, start + 8)]
        (d / "metrics.csv").write_text("\n".join(rows) + "\n")
        (d / "graph.json").write_text(json.dumps({"edges": [["a", "b"]]}))
        (d / "meta.json").write_text(json.dumps({"anomaly_start": T0 + 60 * (start + 6)}))
        (d / "truth.json").write_text(json.dumps({"root_cause": root}))
    done = netloop("stitch", str(cases), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "out" / "metrics.csv").read_text().splitlines()
    assert lines[0] == "time,a:x,b:x" and len(lines) == 1 + 13  # ticks 0..12, the overlap once
    labels = [json.loads(x) for x in (tmp_path / "out" / "labels.jsonl").read_text().splitlines()]
    assert [(x["root_cause"], x["start"], x["end"]) for x in labels] == [
        ("a", T0 + 360, T0 + 420), ("b", T0 + 660, T0 + 720)]


def test_an_inferred_catalogue_matches_exactly_the_entities_it_saw():
    c = infer_catalogue([("IntGW-01", "cpu"), ("IntGW-02", "cpu"), ("other-1", "x")])
    assert c.kind_of("IntGW-01") == "intgw" and c.kind_of("IntGW-03") is None
    assert c.kind_of("other-1") == "other_"  # "other" is the kind of topology entities that report nothing


def test_the_loop_follows_a_shard_that_comes_back_after_a_silence_longer_than_the_tick_window():
    from streams.runtime.perceive import BadRecord
    from streams.runtime.ticks import TickWindow

    w = TickWindow(max_ahead=5, jump_after=3)
    w.admit("s", 10)
    refused = 0
    for t in (100, 101, 102, 103):
        try:
            w.admit("s", t)
        except BadRecord:
            refused += 1
    assert refused == 2 and w.last("s") == 103 and w.latest == 103
    marks = TickWindow(max_ahead=5, strict=True)  # tick marks close ticks: they never jump
    marks.admit("p", 10)
    for t in (100, 101, 102, 103):
        with pytest.raises(BadRecord):
            marks.admit("p", t)


def test_a_kpi_not_measured_in_a_frame_teaches_its_detector_nothing_and_raises_nothing():
    from schemas.catalogue import parse_catalogue
    from streams.runtime.bus import Message
    from streams.runtime.stages import DetectorConfig, DetectStage

    stage = DetectStage(DetectorConfig(), catalogue=parse_catalogue(CATALOGUE))
    rng = np.random.default_rng(1)

    def frame(tick: int, latency: float | None) -> Message:
        f = TelemetryFrame(shard="edges", tick=tick, timestamp_s=tick * 60.0, kind="edge",
                           entity_ids=["edge-1"], kpis=["rx_pps", "latency_ms"],
                           values=[[1000 + rng.standard_normal(), latency]])
        return Message(topics.TELEMETRY, "edges", f.encode(), tick)

    async def run() -> tuple[list, list]:
        out = []
        for t in range(300):
            out += await stage.handle(frame(t, 10 + 0.1 * rng.standard_normal()))
        for t in range(300, 320):  # the latency goes unmeasured for a while
            out += await stage.handle(frame(t, None))
        late = []
        for t in range(320, 326):  # and comes back slow
            late += await stage.handle(frame(t, 60.0))
        return out, late

    quiet, late = asyncio.run(run())
    assert [e for _, _, e in quiet if e.kpi == "latency_ms"] == []
    assert [e.kpi for _, _, e in late][:1] == ["latency_ms"]
