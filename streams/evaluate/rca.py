"""``netloop evaluate --rca``: root-cause ranking on generic cases, one folder each.

``CASES_DIR/<case>/`` holds ``metrics.csv`` (a ``time`` column, then one
column per ``<entity>:<kpi>``), optionally ``graph.json`` (``{"edges":
[[upstream, downstream], ...]}``) and ``meta.json`` (``{"anomaly_start":
<time>}``), and ``truth.json`` (``{"root_cause": <entity>}``). Times are
numbers or ISO timestamps. An empty metric cell takes the previous value (the
next one at the start); a column with no value at all is left out.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.table import Table

from detectors import RankingModel, RootCauseRanking, avg_at_k, rank_root_causes, top_k_accuracy
from streams.evaluate.files import ExternalDataError, parse_timestamp, read_csv, read_json

_EMPTY = {"", "nan", "NaN", "NA", "null"}


@dataclass(frozen=True)
class RcaCase:
    """One case: T×M metrics (KPI ``kpis[j]`` of ``entities[j]``; ``missing`` marks the cells that had no
    value, filled in ``values``), optional edges and start, and the true root."""

    folder: Path
    times: np.ndarray
    values: np.ndarray
    entities: tuple[str, ...]
    kpis: tuple[str, ...]
    missing: np.ndarray
    edges: tuple[tuple[str, str], ...]
    anomaly_start: float | None
    root_cause: str

    @property
    def name(self) -> str:
        return self.folder.name


@dataclass(frozen=True)
class CaseResult:
    case: RcaCase
    ranking: RootCauseRanking

    @property
    def rank(self) -> int | None:
        """1-based rank of the true root, or ``None`` if it is not ranked."""
        ranked = self.ranking.ranked
        return ranked.index(self.case.root_cause) + 1 if self.case.root_cause in ranked else None


def load_cases(cases_dir: Path) -> list[RcaCase]:
    """Every case folder under ``cases_dir``, in name order."""
    if not cases_dir.is_dir():
        raise ExternalDataError(f"{cases_dir}: not a folder (expected one folder per case inside)")
    folders = sorted(p for p in cases_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ExternalDataError(f"{cases_dir}: no case folders")
    return [_load_case(f) for f in folders]


def run_rca(cases: list[RcaCase], model: RankingModel | None = None) -> list[CaseResult]:
    """Rank the candidates of every case (with the shipped outside-data model unless ``model``)."""
    results = []
    for c in cases:
        try:
            ranking = rank_root_causes(c.times, c.values, c.entities, kpis=c.kpis, missing=c.missing,
                                       edges=c.edges, anomaly_start=c.anomaly_start, model=model)
        except ValueError as exc:
            where = "meta.json" if c.anomaly_start is not None else "metrics.csv"
            raise ExternalDataError(f"{c.folder / where}: {exc}") from None
        results.append(CaseResult(c, ranking))
    return results


def accuracy(results: list[CaseResult]) -> dict[str, float]:
    """Top-1, top-3 and Avg@5 over the cases."""
    rankings = [r.ranking.ranked for r in results]
    truths = [r.case.root_cause for r in results]
    return {"top1": top_k_accuracy(rankings, truths, 1), "top3": top_k_accuracy(rankings, truths, 3),
            "avg5": avg_at_k(rankings, truths, 5)}


def rca_report(results: list[CaseResult]) -> dict:
    """The JSON form: per case the truth, its rank, the first five candidates and the evidence that put
    the first there; then the accuracy."""
    return {"cases": [{"case": r.case.name, "root_cause": r.case.root_cause, "rank": r.rank,
                       "candidates": list(r.ranking.ranked[:5]), "graph": bool(r.case.edges),
                       "anomaly_start_given": r.case.anomaly_start is not None,
                       "start_time": float(r.case.times[r.ranking.start]),
                       "evidence": _evidence(r)} for r in results],
            **accuracy(results)}


def _evidence(r: CaseResult, limit: int = 5) -> list[dict]:
    """The first candidate's anomalous KPIs: value, baseline, magnitude and the time of onset."""
    times, start = r.case.times, r.ranking.start
    return [{"kpi": e.kpi, "value": e.value, "baseline": e.baseline, "magnitude": round(e.magnitude, 2),
             "onset_time": float(times[start + int(e.onset)]) if e.onset < len(times) - start else None}
            for e in r.ranking.evidence.get(r.ranking.ranked[0], ())[:limit]]


def rca_table(results: list[CaseResult]) -> Table:
    acc = accuracy(results)
    t = Table(title="netloop evaluate --rca", caption=f"top-1 {acc['top1']:.3f} · top-3 {acc['top3']:.3f}"
                                                      f" · Avg@5 {acc['avg5']:.3f} ({len(results)} cases)")
    for col in ("case", "graph", "start", "root cause", "rank", "ranked first"):
        t.add_column(col, justify="right" if col == "rank" else "left")
    for r in results:
        start = "given" if r.case.anomaly_start is not None else "found"
        t.add_row(r.case.name, "yes" if r.case.edges else "no", start, r.case.root_cause,
                  str(r.rank or "–"), r.ranking.ranked[0])
    return t


def _load_case(folder: Path) -> RcaCase:
    times, values, missing, entities, kpis = _read_metrics(folder / "metrics.csv")
    edges = _read_edges(folder / "graph.json") if (folder / "graph.json").exists() else ()
    start = _read_start(folder / "meta.json") if (folder / "meta.json").exists() else None
    truth = read_json(folder / "truth.json")
    root = truth.get("root_cause") if isinstance(truth, dict) else None
    if not isinstance(root, str) or not root:
        raise ExternalDataError(f"{folder / 'truth.json'}: root_cause: expected an entity name")
    if root not in set(entities) | {e for edge in edges for e in edge}:
        raise ExternalDataError(f"{folder / 'truth.json'}: root_cause: {root!r} is in neither "
                                "metrics.csv nor graph.json")
    return RcaCase(folder, times, values, entities, kpis, missing, edges, start, root)


def _read_metrics(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    header, rows = read_csv(path, ("time",))
    ti = header.index("time")
    cols = [j for j in range(len(header)) if j != ti]
    for j in cols:
        entity, _, kpi = header[j].rpartition(":")
        if not entity or not kpi:
            raise ExternalDataError(f"{path}: column {header[j]!r}: expected <entity>:<kpi>")
    if len({header[j] for j in cols}) < len(cols):
        raise ExternalDataError(f"{path}: a column name appears twice")
    times = np.array([_time(r[ti], f"{path}: line {n}: time") for n, r in enumerate(rows, start=2)])
    values = np.array([[_cell(r[j], path, n, header[j]) for j in cols] for n, r in enumerate(rows, start=2)],
                      dtype=float).reshape(len(rows), len(cols))
    keep = ~np.isnan(values).all(axis=0)
    if not keep.any():
        raise ExternalDataError(f"{path}: no <entity>:<kpi> column with a value")
    order = np.argsort(times, kind="stable")
    names = [header[j].rpartition(":") for j, k in zip(cols, keep, strict=True) if k]
    kept = values[order][:, keep]
    return (times[order], _fill_gaps(kept), np.isnan(kept), tuple(e for e, _, _ in names),
            tuple(k for _, _, k in names))


def _read_edges(path: Path) -> tuple[tuple[str, str], ...]:
    graph = read_json(path)
    edges = graph.get("edges") if isinstance(graph, dict) else None
    if not isinstance(edges, list):
        raise ExternalDataError(f"{path}: edges: expected a list of [upstream, downstream]")
    for i, e in enumerate(edges):
        if not (isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) and x for x in e)):
            raise ExternalDataError(f"{path}: edges[{i}]: expected [upstream, downstream], got {e!r}")
    return tuple((up, down) for up, down in edges)


def _read_start(path: Path) -> float | None:
    meta = read_json(path)
    if not isinstance(meta, dict):
        raise ExternalDataError(f"{path}: expected an object such as {{\"anomaly_start\": <time>}}")
    start = meta.get("anomaly_start")
    return None if start is None else _time(start, f"{path}: anomaly_start")


def _time(x: object, where: str) -> float:
    """A finite number, or an ISO timestamp as seconds since the epoch."""
    number: float | None = None
    if isinstance(x, int | float) and not isinstance(x, bool):
        number = float(x)
    elif isinstance(x, str):
        with contextlib.suppress(ValueError):
            number = float(x)
    if number is None:
        return float(parse_timestamp(x, where).astype(np.int64)) / 1e6
    if not np.isfinite(number):
        raise ExternalDataError(f"{where}: {x!r} is not a finite time")
    return number


def _cell(text: str, path: Path, line: int, column: str) -> float:
    if text.strip() in _EMPTY:
        return np.nan
    try:
        v = float(text)
    except ValueError:
        raise ExternalDataError(f"{path}: line {line}: {column}: {text!r} is not a number") from None
    if np.isinf(v):
        raise ExternalDataError(f"{path}: line {line}: {column}: {text!r} is not finite")
    return v


def _fill_gaps(values: np.ndarray) -> np.ndarray:
    """Empty cells take the previous value of their column, or the next one before the first value."""
    rows = np.arange(len(values))[:, None]
    last = np.maximum.accumulate(np.where(np.isnan(values), 0, rows), axis=0)
    filled = np.take_along_axis(values, last, axis=0)
    first = np.argmax(~np.isnan(values), axis=0)
    lead = rows < first
    return np.where(lead, values[first, np.arange(values.shape[1])], filled)
