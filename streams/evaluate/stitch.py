"""Root-cause cases cut from one recording, stitched back into its timeline with a label per case.

A case set in the layout of ``netloop evaluate --rca`` (``metrics.csv``, ``graph.json``,
``meta.json`` with ``anomaly_start``, ``truth.json``) often holds windows cut from one long
recording. Their rows, joined on time, give the recording back (with gaps where no case
looked); each case becomes a labelled fault from its ``anomaly_start`` to its last row. Where two
cases hold the same time, the first case's values are kept and the disagreements counted.
The result is what ``netloop replay --format csv --topology graph.json --labels labels.jsonl`` reads.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streams.evaluate.files import ExternalDataError
from streams.evaluate.rca import load_cases


@dataclass(frozen=True)
class Stitched:
    """What was written: rows, columns, labelled cases, cases without a start, conflicting values."""

    rows: int
    columns: int
    labels: int
    unlabelled: int
    conflicts: int


def stitch(cases_dir: Path, out: Path) -> Stitched:
    """Write ``metrics.csv``, ``graph.json`` and ``labels.jsonl`` for the cases under ``cases_dir``."""
    cases = load_cases(cases_dir)
    if not cases:
        raise ExternalDataError(f"{cases_dir}: no cases")
    columns = sorted({f"{e}:{k}" for c in cases for e, k in zip(c.entities, c.kpis, strict=True)})
    index = {name: j for j, name in enumerate(columns)}
    rows: dict[float, list[float | None]] = {}
    conflicts = 0
    labels = []
    edges: set[tuple[str, str]] = set()
    for c in cases:
        cols = [index[f"{e}:{k}"] for e, k in zip(c.entities, c.kpis, strict=True)]
        for t, values, missing in zip(c.times.tolist(), c.values, c.missing, strict=True):
            row = rows.setdefault(t, [None] * len(columns))
            for j, v, gone in zip(cols, values.tolist(), missing.tolist(), strict=True):
                if gone:
                    continue
                if row[j] is None:
                    row[j] = v
                elif not np.isclose(row[j], v):
                    conflicts += 1
        edges.update(c.edges)
        if c.anomaly_start is not None:
            labels.append({"start": c.anomaly_start, "end": float(c.times.max()), "root_cause": c.root_cause,
                           "case": c.name})
    out.mkdir(parents=True, exist_ok=True)
    with (out / "metrics.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", *columns])
        for t in sorted(rows):
            w.writerow([_num(t), *("" if v is None else _num(v) for v in rows[t])])
    (out / "graph.json").write_text(json.dumps({"edges": sorted([list(e) for e in edges])}) + "\n")
    labels.sort(key=lambda x: x["start"])
    (out / "labels.jsonl").write_text("".join(json.dumps(x) + "\n" for x in labels))
    return Stitched(len(rows), len(columns), len(labels), len(cases) - len(labels), conflicts)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))
