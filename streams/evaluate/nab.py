"""``netloop evaluate --nab``: netloop's online detectors on series in the Numenta Anomaly Benchmark layout.

Reads ``DATA_DIR/<category>/<file>.csv`` (columns ``timestamp,value``) and the
labels in NAB's ``combined_windows.json`` format (``"<category>/<file>.csv":
[[start, end], ...]``). Writes, per detector and series,
``RESULTS_DIR/<detector>/<category>/<detector>_<file>.csv`` with columns
``timestamp,value,anomaly_score,label``: the files NAB's own scorer reads.
Counts window-based precision and recall as :mod:`detectors.windows` defines them.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.table import Table

from detectors import (
    DEFAULT_DETECTOR,
    SERIES_DETECTORS,
    WindowCounts,
    score_series,
    window_counts,
    window_ids,
)
from streams.evaluate.files import ExternalDataError, parse_number, parse_timestamp, read_csv, read_json

COLUMNS = ("timestamp", "value", "anomaly_score", "label")


@dataclass(frozen=True)
class Series:
    """One labelled series, in time order; ``name`` is ``<category>/<file>.csv``."""

    name: str
    timestamps: tuple[str, ...]
    value_text: tuple[str, ...]
    values: np.ndarray
    window_ids: np.ndarray
    windows: int


@dataclass(frozen=True)
class DetectorRun:
    """One detector over every series: counts in total and per series, and its scoring speed."""

    detector: str
    counts: WindowCounts
    per_series: tuple[tuple[str, WindowCounts], ...]
    points: int
    seconds: float


def load_nab(data_dir: Path, labels_path: Path) -> list[Series]:
    """Every series under ``data_dir`` with its windows; data files and labels must match one to one."""
    if not data_dir.is_dir():
        raise ExternalDataError(f"{data_dir}: not a folder (expected <category>/<file>.csv inside)")
    files = {p.relative_to(data_dir).as_posix(): p for p in sorted(data_dir.rglob("*.csv"))}
    for name in files:
        if name.count("/") != 1:
            raise ExternalDataError(f"{data_dir / name}: expected DATA_DIR/<category>/<file>.csv")
    if not files:
        raise ExternalDataError(f"{data_dir}: no <category>/<file>.csv files")
    labels = _read_labels(labels_path, set(files))
    return [_read_series(files[name], name, labels[name], f"{labels_path}: {name}") for name in files]


def run_nab(series: list[Series], out_dir: Path, *,
            detectors: tuple[str, ...] = (DEFAULT_DETECTOR,)) -> list[DetectorRun]:
    """Score every series with each detector, write NAB's results files, count windows."""
    runs = []
    for name in detectors:
        t0 = time.perf_counter()
        scores = score_series([s.values for s in series], name)
        seconds = time.perf_counter() - t0
        per_series = []
        for s, sc in zip(series, scores, strict=True):
            _write_results(out_dir, name, s, sc)
            flag = SERIES_DETECTORS[name].flag_score
            per_series.append((s.name, window_counts(sc >= flag, s.window_ids, s.windows)))
        total = sum((c for _, c in per_series), WindowCounts(0, 0, 0))
        runs.append(DetectorRun(name, total, tuple(per_series), sum(len(s.values) for s in series), seconds))
    return runs


def nab_report(runs: list[DetectorRun]) -> dict:
    """The JSON form of the runs: totals and per-series counts per detector."""
    return {"detectors": [
        {"detector": r.detector, "flag_score": SERIES_DETECTORS[r.detector].flag_score,
         "series": len(r.per_series), "points": r.points, **_counts(r.counts),
         "points_per_second": round(r.points / r.seconds) if r.seconds else None,
         "files": [{"file": name, **_counts(c)} for name, c in r.per_series]}
        for r in runs]}


def nab_table(runs: list[DetectorRun]) -> Table:
    points = runs[0].points if runs else 0
    series = len(runs[0].per_series) if runs else 0
    t = Table(title="netloop evaluate --nab", caption=f"{series} series, {points} points; flagged: "
              f"score ≥ the detector's flag score (netloop: 1 − its alarm level)")
    for col in ("detector", "windows", "found", "FP runs", "prec.", "recall", "F1", "points/s"):
        t.add_column(col, justify="left" if col == "detector" else "right")
    for r in runs:
        c = r.counts
        t.add_row(r.detector, str(c.windows), str(c.detected), str(c.false_positives), _ratio(c.precision),
                  _ratio(c.recall), _ratio(c.f1), f"{r.points / r.seconds:,.0f}" if r.seconds else "–")
    return t


def _counts(c: WindowCounts) -> dict:
    return {"windows": c.windows, "detected": c.detected, "false_positives": c.false_positives,
            "precision": c.precision, "recall": c.recall, "f1": c.f1}


def _ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _read_labels(path: Path, names: set[str]) -> dict[str, list]:
    labels = read_json(path)
    if not isinstance(labels, dict):
        raise ExternalDataError(f"{path}: expected an object of <category>/<file>.csv → [[start, end], ...]")
    for key, windows in labels.items():
        if key not in names:
            raise ExternalDataError(f"{path}: {key!r} is not a file of the data folder")
        if not isinstance(windows, list):
            raise ExternalDataError(f"{path}: {key}: expected a list of [start, end] windows")
    missing = sorted(names - set(labels))
    if missing:
        raise ExternalDataError(f"{path}: no entry for {missing[0]!r} (give [] for a series with no anomaly)")
    return labels


def _read_windows(windows: list, where: str) -> list[tuple[np.datetime64, np.datetime64]]:
    out = []
    for i, w in enumerate(windows):
        if not (isinstance(w, list) and len(w) == 2):
            raise ExternalDataError(f"{where}: window {i}: expected [start, end], got {w!r}")
        start = parse_timestamp(w[0], f"{where}: window {i}: start")
        end = parse_timestamp(w[1], f"{where}: window {i}: end")
        if end < start:
            raise ExternalDataError(f"{where}: window {i}: end {w[1]!r} is before start {w[0]!r}")
        out.append((start, end))
    return out


def _read_series(path: Path, name: str, windows: list, where: str) -> Series:
    header, rows = read_csv(path, ("timestamp", "value"))
    ti, vi = header.index("timestamp"), header.index("value")
    stamps = [r[ti] for r in rows]
    times = _parse_times(stamps, path)
    values = np.array([parse_number(r[vi], path, line, "value") for line, r in enumerate(rows, start=2)])
    order = np.argsort(times, kind="stable")
    bounds = _read_windows(windows, where)
    return Series(name, tuple(stamps[i] for i in order), tuple(rows[i][vi] for i in order), values[order],
                  window_ids(times[order], bounds), len(bounds))


def _parse_times(stamps: list[str], path: Path) -> np.ndarray:
    try:
        times = np.array(stamps, dtype="datetime64[us]")
    except ValueError:
        times = np.array([parse_timestamp(s, f"{path}: line {n}: timestamp")
                          for n, s in enumerate(stamps, start=2)])
    if np.isnat(times).any():
        line = int(np.isnat(times).argmax()) + 2
        raise ExternalDataError(f"{path}: line {line}: timestamp: {stamps[line - 2]!r} is not a timestamp")
    return times


def _write_results(out_dir: Path, detector: str, s: Series, scores: np.ndarray) -> None:
    category, file = s.name.split("/")
    path = out_dir / detector / category / f"{detector}_{file}"
    path.parent.mkdir(parents=True, exist_ok=True)
    labels = (s.window_ids >= 0).astype(int).tolist()
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(zip(s.timestamps, s.value_text, map(repr, scores.tolist()), labels, strict=True))
