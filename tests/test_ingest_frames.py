"""Outside samples into the loop's frames (:mod:`streams.ingest.frames`), and recorded CSV/TSV files into
samples (:mod:`streams.ingest.recordings`)."""

import json
from pathlib import Path

import pytest

from schemas import TelemetryFrame
from schemas.catalogue import parse_catalogue
from streams.ingest.frames import FrameBuilder
from streams.ingest.recordings import RecordingError, read_recording
from streams.ingest.samples import Rejected, Sample

CATALOGUE = parse_catalogue("""\
name: lab
kinds:
  router:
    ids: "^r-"
    kpis:
      - {name: cpu_util, bad: up}
      - {name: rx_bytes, bad: down, counter: true}
""")


def builder(**kw) -> FrameBuilder:
    return FrameBuilder(CATALOGUE, tick_s=60, origin_s=0.0, **{"lateness": 0, **kw})


def feed(b: FrameBuilder, *samples: tuple[float, str, str, float]) -> list[Rejected]:
    """Add ``(time_s, entity, kpi, value)`` samples; the refused ones."""
    refused = [b.add(Sample(*s)) for s in samples]
    return [r for r in refused if r is not None]


def values(frames: list[TelemetryFrame]) -> dict[tuple[int, str], list[float | None]]:
    """(tick, entity) → the entity's row, in the catalogue's KPI order."""
    return {(f.tick, e): row for f in frames for e, row in zip(f.entity_ids, f.values, strict=True)}


# -- frames ------------------------------------------------------------------------------------------


def test_a_counter_kpi_becomes_its_rate_per_second_from_its_second_sample():
    b = builder()
    assert feed(b, (0, "r-1", "cpu_util", 0.5), (0, "r-1", "rx_bytes", 1000),
                (60, "r-1", "cpu_util", 0.5), (60, "r-1", "rx_bytes", 7000),
                (120, "r-1", "cpu_util", 0.5), (120, "r-1", "rx_bytes", 13000)) == []
    assert values(b.flush()) == {(0, "r-1"): [0.5, None], (1, "r-1"): [0.5, 100.0], (2, "r-1"): [0.5, 100.0]}


def test_a_sample_marked_as_a_counter_becomes_a_rate_though_the_catalogue_does_not_say_so():
    b = builder()
    for t, v in ((0, 10.0), (60, 70.0)):
        assert b.add(Sample(t, "r-1", "cpu_util", v, counter=True)) is None
    assert values(b.flush()) == {(1, "r-1"): [1.0, None]}


def test_a_counter_that_went_down_was_reset_and_counts_from_zero():
    b = builder()
    feed(b, (0, "r-1", "rx_bytes", 1000), (60, "r-1", "rx_bytes", 7000), (120, "r-1", "rx_bytes", 600))
    assert values(b.flush())[(2, "r-1")] == [None, 10.0]  # 600 bytes since the reset, in 60 s


def test_a_sample_repeated_at_the_time_already_seen_is_ignored_not_refused():
    b = builder()
    assert feed(b, (0, "r-1", "cpu_util", 0.5), (0, "r-1", "cpu_util", 0.9),
                (0, "r-1", "rx_bytes", 1000), (60, "r-1", "rx_bytes", 7000),
                (60, "r-1", "rx_bytes", 7000)) == []  # a counter's repeat divides by no time
    assert values(b.flush()) == {(0, "r-1"): [0.5, None], (1, "r-1"): [None, 100.0]}


def test_a_sample_older_than_its_series_last_is_refused_with_the_reason():
    b = builder()
    [late] = feed(b, (90, "r-1", "cpu_util", 0.5), (70, "r-1", "cpu_util", 0.7))
    assert late.source == "frames" and "older than the series' last sample (90 s)" in late.reason
    assert values(b.flush()) == {(1, "r-1"): [0.5, None]}


def test_a_sample_for_a_closed_tick_is_refused_and_one_within_the_lateness_counts():
    strict = builder(lateness=0)
    feed(strict, (0, "r-1", "cpu_util", 0.5), (120, "r-1", "cpu_util", 0.5))
    assert [f.tick for f in strict.ready()] == [0]
    [refused] = feed(strict, (10, "r-2", "cpu_util", 0.5))
    assert "tick 0 is closed" in refused.reason

    patient = builder(lateness=1)
    feed(patient, (0, "r-1", "cpu_util", 0.5), (60, "r-1", "cpu_util", 0.5))
    assert patient.ready() == []
    assert feed(patient, (10, "r-2", "cpu_util", 0.4)) == []
    assert values(patient.flush())[(0, "r-2")] == [0.4, None]


@pytest.mark.parametrize(("entity", "kpi", "reason"), [
    ("switch-1", "cpu_util", "entity 'switch-1' matches no kind of catalogue 'lab'"),
    ("r-1", "temperature", "kind 'router' declares no KPI 'temperature'"),
])
def test_a_sample_the_catalogue_does_not_declare_is_refused_with_the_reason(entity, kpi, reason):
    b = builder()
    [refused] = feed(b, (0, entity, kpi, 1.0))
    assert refused.reason == reason and entity.encode() in refused.raw
    assert b.flush() == []


def test_a_kpi_not_reported_in_a_tick_is_null_in_its_frame():
    b = builder()
    feed(b, (0, "r-1", "cpu_util", 0.5), (0, "r-2", "cpu_util", 0.6))
    [frame] = b.flush()
    assert frame.kpis == ["cpu_util", "rx_bytes"] and frame.values == [[0.5, None], [0.6, None]]
    assert json.loads(frame.encode())["values"] == [[0.5, None], [0.6, None]]
    assert TelemetryFrame.decode(frame.encode()).values == frame.values


def test_more_entities_than_the_shard_size_are_split_into_numbered_shards():
    b = builder(shard_size=2)
    feed(b, *((0, f"r-{i}", "cpu_util", 0.5) for i in range(1, 6)))
    frames = b.flush()
    assert [(f.shard, f.entity_ids) for f in frames] == [
        ("router-0000", ["r-1", "r-2"]), ("router-0001", ["r-3", "r-4"]), ("router-0002", ["r-5"])]


def test_an_entity_keeps_its_shard_when_another_stops_reporting():
    b = builder(shard_size=2)
    feed(b, *((0, f"r-{i}", "cpu_util", 0.5) for i in range(1, 5)))
    feed(b, *((60, f"r-{i}", "cpu_util", 0.5) for i in range(2, 5)))  # r-1 went quiet
    shard_of = {(f.tick, e): f.shard for f in b.flush() for e in f.entity_ids}
    assert shard_of[(1, "r-3")] == shard_of[(0, "r-3")] == "router-0001"  # the detectors' state is there
    assert shard_of[(1, "r-2")] == "router-0000"


def test_series_beyond_max_series_are_refused_and_the_known_ones_still_admitted():
    b = builder(max_series=2)
    [refused] = feed(b, (0, "r-1", "cpu_util", 0.5), (0, "r-2", "cpu_util", 0.5),
                     (0, "r-3", "cpu_util", 0.5))
    assert "more than 2 series" in refused.reason and b"r-3" in refused.raw
    assert feed(b, (60, "r-1", "cpu_util", 0.6)) == []
    assert sorted(values(b.flush())) == [(0, "r-1"), (0, "r-2"), (1, "r-1")]


# -- recordings --------------------------------------------------------------------------------------

ROWS = [(1_700_000_000.0, "r-1", "cpu_util", 0.5), (1_700_000_000.0, "r-2", "cpu_util", 0.25),
        (1_700_000_060.0, "r-1", "cpu_util", 0.75), (1_700_000_060.0, "r-2", "cpu_util", 1.0)]


def write(path: Path, lines: list[list[str]], delimiter: str = ",", bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + "".join(delimiter.join(x) + "\n" for x in lines),
                    encoding="utf-8")
    return path


def wide(path: Path, delimiter: str = ",", bom: bool = False) -> Path:
    return write(path, [["time", "r-1:cpu-util", "r-2:cpu-util"], ["1700000000", "0.5", "0.25"],
                        ["1700000060", "0.75", "1.0"]], delimiter, bom)


def long(path: Path, delimiter: str = ",") -> Path:
    return write(path, [["time", "entity", "kpi", "value"],
                        *([f"{t:.0f}", e, k, str(v)] for t, e, k, v in ROWS)], delimiter)


def samples(items) -> list[tuple[float, str, str, float]]:
    return [(s.time_s, s.entity, s.kpi, s.value) for s in items]


@pytest.mark.parametrize("delimiter", [",", "\t"], ids=["csv", "tsv"])
@pytest.mark.parametrize("layout", ["wide", "long"])
def test_a_wide_or_long_csv_or_tsv_recording_is_read_as_its_samples(tmp_path, layout, delimiter):
    path = (wide if layout == "wide" else long)(tmp_path / "rec.csv", delimiter)
    assert samples(read_recording(path, layout)) == ROWS


def test_a_recording_saved_with_a_byte_order_mark_is_read(tmp_path):
    assert samples(read_recording(wide(tmp_path / "excel.csv", bom=True), "wide")) == ROWS


@pytest.mark.parametrize("when", ["2023-11-14T22:13:20Z", "2023-11-14T22:13:20", "2023-11-14T23:13:20+01:00",
                                  "2023-11-14 22:13:20"])
def test_an_iso_8601_time_is_read_as_seconds_since_the_epoch_utc_when_unzoned(tmp_path, when):
    path = write(tmp_path / "iso.csv", [["time", "r-1:cpu_util"], [when, "0.5"]])
    assert samples(read_recording(path, "wide")) == [(1_700_000_000.0, "r-1", "cpu_util", 0.5)]


def test_a_bad_number_or_time_is_rejected_with_its_line_and_column_and_the_rest_is_read(tmp_path):
    path = write(tmp_path / "rec.csv", [["time", "r-1:cpu", "r-2:cpu"], ["60", "0.5", "0.5"],
                                        ["120", "lots", "0.7"], ["yesterday", "0.1", "0.1"],
                                        ["240", "0.9", "0.9"]])
    got = list(read_recording(path, "wide"))
    rejected = [r.reason for r in got if isinstance(r, Rejected)]
    assert rejected == ["line 3: r-1:cpu: 'lots' is not a number",
                        "line 4: time: 'yesterday' is neither epoch seconds nor ISO 8601"]
    assert samples(s for s in got if isinstance(s, Sample)) == [
        (60, "r-1", "cpu", 0.5), (60, "r-2", "cpu", 0.5), (120, "r-2", "cpu", 0.7),
        (240, "r-1", "cpu", 0.9), (240, "r-2", "cpu", 0.9)]


def test_a_bad_value_in_a_long_recording_is_rejected_with_its_line(tmp_path):
    path = write(tmp_path / "rec.csv", [["time", "entity", "kpi", "value"], ["60", "r-1", "cpu", "x"],
                                        ["60", "r-2", "cpu", "0.5"]])
    got = list(read_recording(path, "long"))
    assert [r.reason for r in got if isinstance(r, Rejected)] == ["line 2: cpu: 'x' is not a number"]
    assert samples(s for s in got if isinstance(s, Sample)) == [(60, "r-2", "cpu", 0.5)]


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_a_header_not_starting_with_time_raises_a_recording_error_naming_the_file(tmp_path, layout):
    path = write(tmp_path / "nameless.csv", [["when", "r-1:cpu"], ["60", "0.5"]])
    with pytest.raises(RecordingError, match=r"nameless\.csv: the first column must be 'time'"):
        list(read_recording(path, layout))


@pytest.mark.parametrize("good_lines", [1, 20_000], ids=["in-the-first-block", "further-on"])
def test_a_recording_that_is_not_utf8_raises_a_recording_error_naming_the_file(tmp_path, good_lines):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"time,r-1:cpu\n" + b"60,0.5\n" * good_lines + b"120,\xb0\n")
    with pytest.raises(RecordingError, match=r"latin1\.csv.*not UTF-8"):
        list(read_recording(path, "wide"))
