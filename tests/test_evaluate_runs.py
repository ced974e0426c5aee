"""``netloop evaluate --runs``: labelled multivariate runs in SKAB's layout, point F1, FAR and MAR."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from streams.evaluate.runs import load_runs, point_counts, run_runs
from tests.test_cli import netloop

SENSORS = ("Pressure", "Current", "Volume Flow RateRMS")


def write_run(path: Path, *, rows: int = 900, start: int = 600, shift: float = 10.0, seed: int = 0,
              labels: bool = True) -> None:
    rng = np.random.default_rng(seed)
    values = 20.0 + rng.normal(size=(rows, len(SENSORS)))
    values[start:, 1] += shift
    head = ["datetime", *SENSORS, *(("anomaly", "changepoint") if labels else ())]
    lines = [";".join(head)]
    for t, row in enumerate(values):
        stamp = f"2020-03-09 10:{t // 60 % 60:02d}:{t % 60:02d}"
        tail = [f"{float(t >= start):.1f}", f"{float(t == start):.1f}"] if labels else []
        lines.append(";".join([stamp, *(f"{v:.5f}" for v in row), *tail]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def make_runs(root: Path) -> Path:
    write_run(root / "valve" / "0.csv", seed=1)
    write_run(root / "valve" / "1.csv", seed=2, start=700)
    write_run(root / "free" / "free.csv", seed=3, labels=False)
    return root


def test_runs_are_read_as_shipped_and_unlabelled_files_are_named_not_scored(tmp_path):
    runs, unlabelled = load_runs(make_runs(tmp_path))
    assert [r.name for r in runs] == ["valve/0.csv", "valve/1.csv"]
    assert unlabelled == ["free/free.csv"]
    assert runs[0].columns == SENSORS and runs[0].values.shape == (900, 3)
    assert int(runs[0].anomaly.sum()) == 300


def test_a_lasting_change_of_one_sensor_is_flagged_and_scored_after_the_training_rows(tmp_path):
    result = run_runs(*load_runs(make_runs(tmp_path)), train_rows=400)
    assert result.total.tp + result.total.fn == 300 + 200  # only labelled rows after row 400 count
    assert result.total.f1 > 0.9 and result.total.false_alarm_rate < 0.02


def test_point_counts_give_f1_far_and_mar():
    c = point_counts(np.array([1, 1, 0, 0, 1], bool), np.array([1, 0, 1, 0, 1]))
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 1)
    assert c.f1 == 2 * 2 / (2 * 2 + 1 + 1) and c.false_alarm_rate == 0.5 and c.missing_alarm_rate == 1 / 3


def test_the_runs_command_prints_f1_far_mar_and_the_flag_everything_reference(tmp_path):
    done = netloop("evaluate", "--runs", str(make_runs(tmp_path)), "--json", "-")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["runs"]
    assert report["unlabelled"] == ["free/free.csv"] and len(report["runs"]) == 2
    assert {"f1", "false_alarm_rate", "missing_alarm_rate"} <= set(report) and report["all_flagged"]["f1"] < 1


def test_a_bad_label_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("datetime;a;anomaly\n2020-01-01 00:00:00;1.0;0\n2020-01-01 00:00:01;1.0;maybe\n")
    done = netloop("evaluate", "--runs", str(tmp_path))
    assert done.returncode == 2
    assert "bad.csv: line 3: anomaly: 'maybe' is not a number" in "".join(done.stderr.split("\n"))


def test_runs_with_different_sensors_are_refused_naming_the_file(tmp_path):
    write_run(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("datetime;x;anomaly\n2020-01-01 00:00:00;1.0;0\n")
    done = netloop("evaluate", "--runs", str(tmp_path))
    assert done.returncode == 2 and "b.csv" in done.stderr and "differ" in done.stderr
