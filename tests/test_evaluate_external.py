"""``netloop evaluate --nab`` and ``--rca`` on the shipped examples: files, layout, metrics, bad input."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detectors import DEFAULT_LEVEL
from streams.cli import app
from streams.evaluate.files import ExternalDataError
from streams.evaluate.nab import COLUMNS, load_nab, run_nab
from streams.evaluate.rca import accuracy, load_cases, run_rca
from tests.test_cli import netloop

DATA = Path(__file__).parent / "data"
NAB, LABELS, RCA = DATA / "nab", DATA / "nab" / "combined_windows.json", DATA / "rca"
SERIES = ["artificialWithAnomaly/art_level_shift.csv", "artificialWithAnomaly/art_spike.csv",
          "realKnownCause/machine_temperature.csv"]


def evaluate(*args: str):
    return CliRunner().invoke(app, ["evaluate", *map(str, args)])


def squeezed(text: str) -> str:
    """Text without whitespace: rich wraps long error lines anywhere, even inside a path."""
    return "".join(text.split())


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def inside(stamp: str, windows: list[list[str]]) -> bool:
    from datetime import datetime

    t = datetime.fromisoformat(stamp)
    return any(datetime.fromisoformat(a) <= t <= datetime.fromisoformat(b) for a, b in windows)


# --- NAB -----------------------------------------------------------------------------------------


def test_nab_mode_writes_nabs_results_layout_with_scores_in_0_1_and_labels_from_the_windows(tmp_path):
    done = evaluate("--nab", NAB, "--labels", LABELS, "--out", tmp_path, "--detector", "netloop",
                    "--detector", "holt")
    assert done.exit_code == 0, done.output
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(f"{d}/{s.split('/')[0]}/{d}_{s.split('/')[1]}"
                             for d in ("netloop", "holt") for s in SERIES)
    windows = json.loads(LABELS.read_text())
    for name in written:
        detector, category, file = name.split("/")
        source = read_rows(NAB / category / file.removeprefix(f"{detector}_"))
        with (tmp_path / name).open() as f:
            assert next(csv.reader(f)) == list(COLUMNS)
        rows = read_rows(tmp_path / name)
        assert [(r["timestamp"], r["value"]) for r in rows] == [(r["timestamp"], r["value"]) for r in source]
        assert all(0.0 <= float(r["anomaly_score"]) <= 1.0 for r in rows)
        labels = windows[f"{category}/{file.removeprefix(f'{detector}_')}"]
        assert [r["label"] for r in rows] == [str(int(inside(r["timestamp"], labels))) for r in rows]
    assert "F1" in done.output and "netloop" in done.output and "holt" in done.output


def test_nab_mode_writes_the_loops_default_set_under_netloop_unless_told_otherwise(tmp_path):
    done = evaluate("--nab", NAB, "--labels", LABELS, "--out", tmp_path)
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["netloop"]


def test_an_unknown_nab_detector_is_refused_naming_the_known_ones(tmp_path):
    done = evaluate("--nab", NAB, "--labels", LABELS, "--out", tmp_path, "--detector", "prophet")
    assert done.exit_code == 2 and "netloop, holt, mad" in done.output


def test_nab_mode_reports_window_precision_recall_and_f1_per_detector(tmp_path):
    done = evaluate("--nab", NAB, "--labels", LABELS, "--out", tmp_path, "--json", "-")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)["nab"]
    for d in report["detectors"]:
        assert d["flag_score"] == 1.0 - DEFAULT_LEVEL
        assert (d["series"], d["points"], d["windows"]) == (3, 960, 4) and d["detected"] >= 3
        assert {"precision", "recall", "f1", "false_positives", "points_per_second"} <= set(d)
        assert [f["file"] for f in d["files"]] == SERIES


def test_changing_a_future_value_leaves_every_earlier_row_of_the_results_as_it_was(tmp_path):
    changed = tmp_path / "data"
    shutil.copytree(NAB, changed)
    path = changed / SERIES[1]
    lines = path.read_text().splitlines()
    lines[251] = lines[251].split(",")[0] + ",9999"  # data row 250
    path.write_text("\n".join(lines) + "\n")
    run_nab(load_nab(NAB, LABELS), tmp_path / "a")
    run_nab(load_nab(changed, changed / "combined_windows.json"), tmp_path / "b")
    for d in ("netloop",):
        a, b = (read_rows(tmp_path / x / d / "artificialWithAnomaly" / f"{d}_art_spike.csv") for x in "ab")
        assert a[:250] == b[:250] and a[250] != b[250]


def copy_nab(tmp_path: Path) -> Path:
    shutil.copytree(NAB, tmp_path / "nab")
    return tmp_path / "nab"


def set_windows(root: Path, name: str, value: object) -> None:
    labels = json.loads((root / "combined_windows.json").read_text())
    labels[name] = value
    (root / "combined_windows.json").write_text(json.dumps(labels))


NAB_BAD = {
    "missing value column": (lambda r: (r / SERIES[0]).write_text("timestamp,val\n2024-01-01 00:00:00,1\n"),
                             ["art_level_shift.csv", "'value'"]),
    "bad timestamp": (lambda r: (r / SERIES[0]).write_text("timestamp,value\nyesterday,1\n"),
                      ["art_level_shift.csv", "line 2: timestamp", "yesterday"]),
    "non-numeric value": (lambda r: (r / SERIES[0]).write_text("timestamp,value\n2024-01-01 00:00:00,hot\n"),
                          ["art_level_shift.csv", "line 2: value", "hot"]),
    "malformed window": (lambda r: set_windows(r, SERIES[1], [["2024-01-01 00:00:00"]]),
                         ["combined_windows.json", SERIES[1], "window 0", "[start, end]"]),
    "window end before start": (lambda r: set_windows(r, SERIES[1], [["2024-01-02", "2024-01-01"]]),
                                ["combined_windows.json", "window 0", "before start"]),
    "window start not a timestamp": (lambda r: set_windows(r, SERIES[1], [["soon", "2024-01-01"]]),
                                     ["combined_windows.json", "window 0: start", "soon"]),
    "unknown file in labels": (lambda r: set_windows(r, "realTweets/nope.csv", []),
                               ["combined_windows.json", "realTweets/nope.csv", "not a file"]),
    "file missing from labels": (lambda r: (r / "realKnownCause" / "extra.csv").write_text(
        "timestamp,value\n2024-01-01 00:00:00,1\n"), ["combined_windows.json", "realKnownCause/extra.csv"]),
}


@pytest.mark.parametrize("case", list(NAB_BAD))
def test_bad_nab_input_exits_2_naming_the_file_and_field_without_a_traceback(tmp_path, case):
    breaks, expected = NAB_BAD[case]
    root = copy_nab(tmp_path)
    breaks(root)
    done = evaluate("--nab", root, "--labels", root / "combined_windows.json", "--out", tmp_path / "out")
    assert done.exit_code == 2, done.output
    assert all(squeezed(e) in squeezed(done.stderr) for e in expected), done.stderr
    assert "Traceback" not in done.output


@pytest.mark.parametrize(("args", "expected"), [
    (["--nab", NAB], "--nab needs --labels"),
    (["--labels", LABELS], "--labels, --out and --detector go with --nab"),
    (["smoke", "--rca", RCA], "not both"),
    (["--rca", RCA, "--no-act"], "--no-act goes with scenarios"),
])
def test_options_that_do_not_go_together_exit_2(args, expected):
    done = evaluate(*args)
    assert done.exit_code == 2 and expected in done.stderr


# --- RCA -----------------------------------------------------------------------------------------


def test_rca_mode_finds_the_root_of_every_shipped_case_and_reports_top1_top3_avg5():
    done = evaluate("--rca", RCA, "--json", "-")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)["rca"]
    assert (report["top1"], report["top3"], report["avg5"]) == (1.0, 1.0, 1.0)
    cases = {c["case"]: c for c in report["cases"]}
    assert len(cases) == 5 and all(c["rank"] == 1 for c in cases.values())
    assert {(c["graph"], c["anomaly_start_given"]) for c in cases.values()} == {
        (True, True), (True, False), (False, True), (False, False)}
    table = evaluate("--rca", RCA)
    assert "top-1 1.000" in table.output and "Avg@5 1.000" in table.output


def test_the_graph_is_what_finds_the_roots_that_are_not_the_largest_deviation():
    import dataclasses

    cases = load_cases(RCA)
    without = accuracy(run_rca([dataclasses.replace(c, edges=()) for c in cases]))
    assert without["top1"] < accuracy(run_rca(cases))["top1"] == 1.0


def test_empty_metric_cells_take_the_previous_value():
    [case] = [c for c in load_cases(RCA) if c.name == "gaps-with-graph"]
    raw = read_rows(RCA / "gaps-with-graph" / "metrics.csv")
    blank = next(i for i, r in enumerate(raw) if "" in r.values())
    column = next(k for k, v in raw[blank].items() if v == "")
    j = [f"{e}:" for e in case.entities].index(column.rpartition(":")[0] + ":")
    assert case.values[blank, j] == case.values[blank - 1, j]


def copy_rca(tmp_path: Path) -> Path:
    shutil.copytree(RCA, tmp_path / "rca")
    return tmp_path / "rca"


RCA_BAD = {
    "missing time column": ("metrics.csv", "t,db:latency_ms\n0,1\n", ["metrics.csv", "'time'"]),
    "column without entity": ("metrics.csv", "time,latency\n0,1\n",
                              ["metrics.csv", "'latency'", "<entity>:<kpi>"]),
    "non-numeric cell": ("metrics.csv", "time,db:cpu\n0,1\n60,high\n",
                         ["metrics.csv", "line 3", "db:cpu", "high"]),
    "bad edge": ("graph.json", '{"edges": [["db", "api"], ["api"]]}', ["graph.json", "edges[1]"]),
    "no edges": ("graph.json", '{"nodes": []}', ["graph.json", "edges"]),
    "unknown root": ("truth.json", '{"root_cause": "dns"}', ["truth.json", "root_cause", "dns"]),
    "truth without root": ("truth.json", '{"cause": "db"}', ["truth.json", "root_cause"]),
    "start after the data": ("meta.json", '{"anomaly_start": 999999}',
                             ["chain-with-graph/meta.json: anomaly_start"]),
    "start not a time": ("meta.json", '{"anomaly_start": "later"}',
                         ["meta.json: anomaly_start", "later"]),
    "invalid json": ("truth.json", "{root_cause: db}", ["truth.json", "not valid JSON"]),
}


@pytest.mark.parametrize("case", list(RCA_BAD))
def test_bad_rca_input_exits_2_naming_the_file_and_field_without_a_traceback(tmp_path, case):
    file, body, expected = RCA_BAD[case]
    root = copy_rca(tmp_path)
    (root / "chain-with-graph" / file).write_text(body)  # every bad file goes into this one case
    done = evaluate("--rca", root)
    assert done.exit_code == 2, done.output
    assert all(squeezed(e) in squeezed(done.stderr) for e in expected), done.stderr
    assert "Traceback" not in done.output


def test_a_case_folder_without_metrics_is_named(tmp_path):
    root = copy_rca(tmp_path)
    (root / "chain-with-graph" / "metrics.csv").unlink()
    with pytest.raises(ExternalDataError, match=r"chain-with-graph/metrics\.csv: no such file"):
        load_cases(root)


# --- the shipped examples ----------------------------------------------------------------------


def test_the_shipped_examples_are_small_and_exactly_what_the_script_makes(tmp_path):
    subprocess.run([sys.executable, str(DATA / "make_examples.py"), str(tmp_path)], check=True)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    shipped = sorted(p.relative_to(DATA) for d in (NAB, RCA) for p in d.rglob("*") if p.is_file())
    assert made == shipped
    assert all((tmp_path / p).read_bytes() == (DATA / p).read_bytes() for p in made)
    assert sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file()) < 100_000


def test_rca_mode_reports_the_kpis_values_and_onsets_behind_each_first_candidate():
    report = json.loads(evaluate("--rca", RCA, "--json", "-").stdout)["rca"]
    [chain] = [c for c in report["cases"] if c["case"] == "chain-with-graph"]
    kpis = {e["kpi"]: e for e in chain["evidence"]}
    assert set(kpis) == {"latency_ms", "cpu_ratio"}
    assert kpis["latency_ms"]["onset_time"] == chain["start_time"] == 4800
    assert kpis["latency_ms"]["value"] > kpis["latency_ms"]["baseline"] + 4


def test_rca_folds_score_every_case_with_weights_fitted_without_it(tmp_path):
    done = evaluate("--rca", RCA, "--rca", RCA, "--folds", "2", "--json", "-")
    assert done.exit_code == 0, done.output
    held = json.loads(done.stdout)["rca_held_out"]
    assert held["folds"] == 2 and [s["cases"] for s in held["sets"]] == [5, 5]
    assert all(0.0 <= s["top1"] <= s["top3"] <= 1.0 for s in held["sets"])
    assert evaluate("--folds", "2").exit_code == 2


def test_the_episodes_command_refits_the_loop_and_outside_rankings_and_keeps_other_models(tmp_path):
    out = tmp_path / "ranking.json"
    out.write_text(json.dumps({"models": {"mine": {"weights": {"profile": 1.0}}}}))
    done = netloop("episodes", "--out", str(tmp_path / "episodes.json"), "--per-type", "1",
                   "--rca", str(RCA), "--ranking-out", str(out))
    assert done.returncode == 0, done.stderr
    learned = json.loads(out.read_text())
    models = learned["models"]
    assert models["mine"] == {"weights": {"profile": 1.0}}
    assert min(models["outside"]["weights"].values()) >= 0 and models["outside"]["sets"][0]["cases"] == 5
    assert models["loop"]["weights"]["profile"] >= 0 and learned["profiles"]["profiles"]


def test_leaving_a_set_out_scores_it_with_weights_fitted_on_the_others_only():
    done = evaluate("--rca", RCA, "--rca", RCA, "--leave-set-out", "--json", "-")
    assert done.exit_code == 0, done.output
    held = json.loads(done.stdout)["rca_held_out"]
    assert held["leave_set_out"] and [s["cases"] for s in held["sets"]] == [5, 5]
    assert evaluate("--rca", RCA, "--leave-set-out").exit_code == 2
    assert evaluate("--rca", RCA, "--rca", RCA, "--leave-set-out", "--folds", "2").exit_code == 2
