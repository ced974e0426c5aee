"""``netloop evaluate --runs``: the default detector set on labelled multivariate runs (SKAB's layout).

``RUNS_DIR/**/<run>.csv``: a first column of timestamps, then one column per
sensor (a KPI of one entity), a per-row ``anomaly`` label (0/1) and optionally
a ``changepoint`` label; separated by ``;`` or ``,`` (read from the header).
Every run is one entity: its rows go through the loop's default set online,
all runs side by side, and a row is flagged when any of its KPIs is in an
anomaly state (:func:`detectors.flag_runs`). A file without an ``anomaly``
column is unlabelled and left out (the report names it).

Scores are point-wise, as SKAB's leaderboard computes them: F1, false-alarm
rate ``FP / (FP + TN)`` and missing-alarm rate ``FN / (FN + TP)``, per run and
pooled over all runs, on the rows after each run's first ``train_rows`` (the
part the leaderboard's detectors are trained on; here the detector learns
online from the first row on, and those rows are only left out of the score).
Flagging every row is printed beside it: on sets where anomalies fill much of
the scored part, it is a baseline any detector must beat.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.table import Table

from detectors import flag_runs
from streams.evaluate.files import ExternalDataError, parse_number, read_csv

LABELS = ("anomaly", "changepoint")


@dataclass(frozen=True)
class Run:
    """One labelled run: T×K sensor values and a 0/1 anomaly label per row."""

    name: str
    columns: tuple[str, ...]
    values: np.ndarray
    anomaly: np.ndarray


@dataclass(frozen=True)
class PointCounts:
    """Point-wise counts of flags against labels; the ratios are ``None`` where undefined."""

    tp: int
    fp: int
    fn: int
    tn: int

    def __add__(self, other: PointCounts) -> PointCounts:
        return PointCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    @property
    def f1(self) -> float | None:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else None

    @property
    def false_alarm_rate(self) -> float | None:
        d = self.fp + self.tn
        return self.fp / d if d else None

    @property
    def missing_alarm_rate(self) -> float | None:
        d = self.fn + self.tp
        return self.fn / d if d else None


@dataclass(frozen=True)
class RunsResult:
    """Counts per run and in total, flag-everything's total, the unlabelled files and the speed."""

    per_run: tuple[tuple[str, PointCounts], ...]
    total: PointCounts
    all_flagged: PointCounts
    unlabelled: tuple[str, ...]
    rows: int
    seconds: float


def point_counts(flags: np.ndarray, labels: np.ndarray) -> PointCounts:
    """Counts of ``flags`` against 0/1 ``labels``.

    >>> point_counts(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0]))
    PointCounts(tp=1, fp=1, fn=1, tn=1)
    """
    y = np.asarray(labels).astype(bool)
    f = np.asarray(flags, dtype=bool)
    return PointCounts(int((f & y).sum()), int((f & ~y).sum()), int((~f & y).sum()), int((~f & ~y).sum()))


def load_runs(runs_dir: Path) -> tuple[list[Run], list[str]]:
    """The labelled runs under ``runs_dir`` (in name order) and the names of unlabelled files."""
    if not runs_dir.is_dir():
        raise ExternalDataError(f"{runs_dir}: not a folder (expected <run>.csv files inside)")
    files = sorted(runs_dir.rglob("*.csv"))
    if not files:
        raise ExternalDataError(f"{runs_dir}: no .csv files")
    runs, unlabelled = [], []
    for path in files:
        name = path.relative_to(runs_dir).as_posix()
        run = _read_run(path, name)
        if run is None:
            unlabelled.append(name)
        else:
            runs.append(run)
    if not runs:
        raise ExternalDataError(f"{runs_dir}: no file has an 'anomaly' column")
    columns = {r.columns for r in runs}
    if len(columns) > 1:
        first, other = sorted(columns)[:2]
        where = next(r.name for r in runs if r.columns == other)
        raise ExternalDataError(f"{runs_dir / where}: columns {', '.join(other)} differ from the other "
                                f"runs' {', '.join(first)}")
    return runs, unlabelled


def run_runs(runs: list[Run], unlabelled: list[str], *, train_rows: int = 400) -> RunsResult:
    """Flag every row of every run online with the default set and count against the labels."""
    t0 = time.perf_counter()
    flags = flag_runs([r.values for r in runs])
    seconds = time.perf_counter() - t0
    per_run = tuple((r.name, point_counts(f[train_rows:], r.anomaly[train_rows:]))
                    for r, f in zip(runs, flags, strict=True))
    total = sum((c for _, c in per_run), PointCounts(0, 0, 0, 0))
    everything = sum((point_counts(np.ones(max(len(r.anomaly) - train_rows, 0), bool), r.anomaly[train_rows:])
                      for r in runs), PointCounts(0, 0, 0, 0))
    return RunsResult(per_run, total, everything, tuple(unlabelled), sum(len(r.anomaly) for r in runs),
                      seconds)


def runs_report(result: RunsResult, train_rows: int) -> dict:
    """The JSON form: totals, the flag-everything reference and per-run counts."""
    return {"train_rows": train_rows, "rows": result.rows, "unlabelled": list(result.unlabelled),
            "rows_per_second": round(result.rows / result.seconds) if result.seconds else None,
            **_ratios(result.total), "all_flagged": _ratios(result.all_flagged),
            "runs": [{"run": name, **_ratios(c)} for name, c in result.per_run]}


def runs_table(result: RunsResult, train_rows: int) -> Table:
    t = Table(title="netloop evaluate --runs", caption=(
        f"{len(result.per_run)} runs, scored after each run's first {train_rows} rows; flagging every row: "
        f"F1 {_fraction(result.all_flagged.f1)}; unlabelled, left out: {len(result.unlabelled)}"))
    for col in ("run", "F1", "FAR %", "MAR %"):
        t.add_column(col, justify="left" if col == "run" else "right")
    for name, c in (*result.per_run, ("all runs", result.total)):
        t.add_row(name, _fraction(c.f1), _percent(c.false_alarm_rate), _percent(c.missing_alarm_rate))
    return t


def _ratios(c: PointCounts) -> dict:
    return {"tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn, "f1": c.f1,
            "false_alarm_rate": c.false_alarm_rate,
            "missing_alarm_rate": c.missing_alarm_rate}


def _fraction(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _percent(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _read_run(path: Path, name: str) -> Run | None:
    header, rows = read_csv(path, (), delimiter=None)
    if "anomaly" not in header:
        return None
    sensors = [i for i, h in enumerate(header) if i > 0 and h not in LABELS]
    if not sensors:
        raise ExternalDataError(f"{path}: no sensor columns between the time column and the labels")
    ai = header.index("anomaly")
    values = np.empty((len(rows), len(sensors)))
    anomaly = np.empty(len(rows), dtype=np.int8)
    for line, r in enumerate(rows, start=2):
        for j, i in enumerate(sensors):
            values[line - 2, j] = parse_number(r[i], path, line, header[i])
        label = parse_number(r[ai], path, line, "anomaly")
        if label not in (0.0, 1.0):
            raise ExternalDataError(f"{path}: line {line}: anomaly: {r[ai]!r} is not 0 or 1")
        anomaly[line - 2] = int(label)
    return Run(name, tuple(header[i] for i in sensors), values, anomaly)
