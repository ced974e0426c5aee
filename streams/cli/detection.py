"""Helpers of ``evaluate`` for the detectors on outside data: ``--nab`` (NAB's layout, results files for
NAB's scorer) and ``--runs`` (labelled multivariate runs in SKAB's layout)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from streams.cli.common import fail


def check_detectors(names: list[str] | None) -> None:
    """Refuse unknown ``--detector`` names, naming the known ones (exit 2)."""
    from detectors import SERIES_DETECTORS

    unknown = sorted(set(names or ()) - set(SERIES_DETECTORS))
    if unknown:
        raise fail(f"--detector: unknown {', '.join(unknown)}; known: {', '.join(SERIES_DETECTORS)}")


def evaluate_nab(data: Path, labels: Path, out: Path, detectors: list[str] | None,
                 json_out: str | None) -> dict:
    """Score every series with the named detectors (default: the loop's set) and write NAB's results files."""
    from detectors import DEFAULT_DETECTOR
    from streams.evaluate.nab import load_nab, nab_report, nab_table, run_nab

    runs = run_nab(load_nab(data, labels), out, detectors=tuple(detectors or (DEFAULT_DETECTOR,)))
    if json_out != "-":
        Console().print(nab_table(runs))
    return {"nab": nab_report(runs)}


def evaluate_runs(folder: Path, train_rows: int, json_out: str | None) -> dict:
    """Flag every row of the labelled runs online and print point F1, FAR and MAR."""
    from streams.evaluate.runs import load_runs, run_runs, runs_report, runs_table

    result = run_runs(*load_runs(folder), train_rows=train_rows)
    if json_out != "-":
        Console().print(runs_table(result, train_rows))
    return {"runs": runs_report(result, train_rows)}
