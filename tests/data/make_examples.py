"""Writes the tiny outside-data examples under tests/data/: nab/ and rca/ (deterministic, seeded).

    .venv/bin/python tests/data/make_examples.py [OUT_DIR]         # default: tests/data
    .venv/bin/python tests/data/make_examples.py --big OUT_DIR     # a NAB-sized corpus, for throughput

The big corpus has 58 series of 1.6k–22.7k points (376k in all, about NAB's
size), each with one labelled spike; it is not shipped.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

NAB_POINTS = 320
NAB_START = datetime(2024, 1, 1)
NAB_STEP = timedelta(minutes=5)


def _stamp(i: int) -> str:
    return (NAB_START + i * NAB_STEP).strftime("%Y-%m-%d %H:%M:%S")


def _window(a: int, b: int) -> list[str]:
    """A window in NAB's spelling of timestamps (microseconds)."""
    return [(NAB_START + i * NAB_STEP).strftime("%Y-%m-%d %H:%M:%S.%f") for i in (a, b)]


def nab_series(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, list[list[str]]]]:
    t = np.arange(NAB_POINTS)
    daily = np.sin(2 * np.pi * t / 288)
    spike = 50 + 5 * daily + rng.normal(0, 0.5, NAB_POINTS)
    spike[200] += 25
    shift = 20 + rng.normal(0, 0.3, NAB_POINTS)
    shift[230:] += 6
    temp = 80 + 3 * daily + rng.normal(0, 0.4, NAB_POINTS)
    temp[150:158] -= 15  # a cooling failure
    temp[270:274] += 12  # an overheat
    return {
        "artificialWithAnomaly/art_spike.csv": (spike, [_window(195, 210)]),
        "artificialWithAnomaly/art_level_shift.csv": (shift, [_window(225, 245)]),
        "realKnownCause/machine_temperature.csv": (temp, [_window(145, 165), _window(265, 280)]),
    }


def write_nab(out: Path, rng: np.random.Generator) -> None:
    windows = {}
    for name, (values, wins) in nab_series(rng).items():
        path = out / "nab" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["timestamp,value", *(f"{_stamp(i)},{v:.3f}" for i, v in enumerate(values))]
        path.write_text("\n".join(lines) + "\n")
        windows[name] = wins
    (out / "nab" / "combined_windows.json").write_text(json.dumps(windows, indent=4) + "\n")


def _noise(rng: np.random.Generator, rows: int, levels: dict[str, float]) -> dict[str, np.ndarray]:
    return {c: lvl + rng.normal(0, 0.02 * lvl, rows) for c, lvl in levels.items()}


def rca_cases(rng: np.random.Generator) -> dict[str, dict]:
    rows = 120
    chain = _noise(rng, rows, {"web:latency_ms": 120, "api:latency_ms": 40, "db:latency_ms": 30,
                               "cache:hit_ratio": 0.9, "db:cpu_ratio": 0.5, "worker:latency_ms": 60})
    chain["db:latency_ms"][80:] += 6.0    # the root: +10σ, and its CPU too
    chain["db:cpu_ratio"][80:] += 0.1
    chain["api:latency_ms"][81:] += 16    # amplified downstream: +20σ
    chain["worker:latency_ms"][81:] += 24  # the root's other dependent: +20σ
    chain["web:latency_ms"][82:] += 48
    fan = _noise(rng, rows, {f"cell-{i}:throughput_mbps": 200 for i in range(1, 6)}
                 | {"link-1:loss_ratio": 0.01, "link-2:loss_ratio": 0.01})
    fan["link-1:loss_ratio"][70:] += 0.002
    for i in (1, 2, 3):
        fan[f"cell-{i}:throughput_mbps"][70:] -= 60
    flat = _noise(rng, rows, {f"svc-{s}:{k}": lvl for s in "abcd" for k, lvl in (("cpu_ratio", 0.4),
                                                                                ("memory_mb", 900))})
    flat["svc-c:cpu_ratio"][60:] += 0.12
    core = _noise(rng, rows, {"upf-1:cpu_ratio": 0.5, "smf-1:error_ratio": 0.02, "amf-1:cpu_ratio": 0.3})
    core["upf-1:cpu_ratio"][90:] += 0.15
    core["smf-1:error_ratio"][92:] += 0.003
    gaps = _noise(rng, rows, {"gnb-1:prb_utilization_ratio": 0.5, "cell-11:drop_ratio": 0.01,
                              "cell-12:drop_ratio": 0.01, "upf-2:cpu_ratio": 0.4})
    gaps["gnb-1:prb_utilization_ratio"][75:] += 0.3
    gaps["cell-11:drop_ratio"][76:] += 0.02
    gaps["cell-12:drop_ratio"][76:] += 0.02
    return {
        "chain-with-graph": {"metrics": chain, "truth": "db", "start": 4800,
                             "edges": [["db", "api"], ["db", "worker"], ["cache", "api"], ["api", "web"]]},
        "fanout-graph-no-start": {"metrics": fan, "truth": "link-1", "iso": True,
                                  "edges": [["link-1", f"cell-{i}"] for i in (1, 2, 3)]
                                  + [["link-2", f"cell-{i}"] for i in (4, 5)]},
        "metrics-only-with-start": {"metrics": flat, "truth": "svc-c", "start": 3600},
        "metrics-only-no-start": {"metrics": core, "truth": "upf-1"},
        "gaps-with-graph": {"metrics": gaps, "truth": "gnb-1", "start": 4500, "blanks": True,
                            "edges": [["gnb-1", "cell-11"], ["gnb-1", "cell-12"], ["upf-2", "gnb-1"]]},
    }


def write_rca(out: Path, rng: np.random.Generator) -> None:
    for name, case in rca_cases(rng).items():
        folder = out / "rca" / name
        folder.mkdir(parents=True, exist_ok=True)
        cols = case["metrics"]
        rows = len(next(iter(cols.values())))
        lines = ["time," + ",".join(cols)]
        for r in range(rows):
            t = (datetime(2024, 3, 1) + timedelta(minutes=r)).isoformat() if case.get("iso") else str(60 * r)
            cells = [f"{v[r]:.4g}" for v in cols.values()]
            if case.get("blanks") and r % 17 == 5:
                cells[r % len(cells)] = ""
            lines.append(",".join([t, *cells]))
        (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
        (folder / "truth.json").write_text(json.dumps({"root_cause": case["truth"]}) + "\n")
        if "edges" in case:
            (folder / "graph.json").write_text(json.dumps({"edges": case["edges"]}) + "\n")
        if "start" in case:
            (folder / "meta.json").write_text(json.dumps({"anomaly_start": case["start"]}) + "\n")


BIG_LENGTHS = [4032] * 27 + [1600] * 6 + [2500] * 7 + [15800] * 10 + [22695, 22695, 10320, 10320, 7267,
                                                                       4032, 1882, 3600]


def write_big_nab(out: Path) -> None:
    rng = np.random.default_rng(58)
    windows = {}
    for i, n in enumerate(BIG_LENGTHS):
        t = np.arange(n)
        values = 100 + 10 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, n)
        at = int(rng.integers(n // 2, n - 10))
        values[at] += 40
        name = f"big{i // 10}/series_{i:02d}.csv"
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("timestamp,value\n" + "".join(f"{_stamp(j)},{v:.3f}\n" for j, v in enumerate(values)))
        windows[name] = [_window(at - 5, at + 5)]
    (out / "combined_windows.json").write_text(json.dumps(windows) + "\n")


def main(args: list[str]) -> None:
    if args[:1] == ["--big"]:
        write_big_nab(Path(args[1]))
        return
    out = Path(args[0]) if args else Path(__file__).parent
    rng = np.random.default_rng(5)
    write_nab(out, rng)
    write_rca(out, rng)


if __name__ == "__main__":
    main(sys.argv[1:])
