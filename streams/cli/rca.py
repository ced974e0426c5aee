"""Helpers of the loop commands for root causes: ``evaluate --rca`` (shipped weights, held-out folds, a set
left out), ``episodes --rca`` (refit the outside-data weights) and ``bench --localize``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from streams.cli.common import fail


def evaluate_rca(sets: list[Path], folds: int | None, leave_set_out: bool, json_out: str | None) -> dict:
    """Rank every set's cases with the shipped weights, or score held-out cases beside the naive reference."""
    from streams.evaluate.rca import load_cases, rca_report, rca_table, run_rca

    loaded = [load_cases(p) for p in sets]
    if folds or leave_set_out:
        import numpy as np

        from streams.evaluate import rca_learning as learn
        from streams.evaluate.rca_learning import held_out_report, held_out_table, naive_rank

        ranks = learn.cross_validate(loaded, folds) if folds else learn.leave_set_out(loaded)
        naive = [np.array([naive_rank(c) for c in cases]) for cases in loaded]
        if json_out != "-":
            Console(width=max(Console().width, 110)).print(held_out_table(sets, ranks, naive, folds))
        return {"rca_held_out": held_out_report(sets, ranks, naive, folds)}
    reports = []
    for cases in loaded:
        results = run_rca(cases)
        if json_out != "-":
            Console().print(rca_table(results))
        reports.append(rca_report(results))
    return {"rca": reports[0] if len(reports) == 1 else reports}


def refit_outside(sets: list[Path], path: Path) -> None:
    """Fit the outside-data weights on the sets and write them into the ranking file at ``path``."""
    from rich.markup import escape

    from streams.evaluate.files import ExternalDataError
    from streams.evaluate.rca import load_cases
    from streams.evaluate.rca_learning import write_outside

    try:
        model = write_outside([load_cases(p) for p in sets], path)
    except ExternalDataError as exc:
        raise fail(escape(str(exc))) from None
    weights = ", ".join(f"{k} {v:g}" for k, v in model.weights.items())
    typer.echo(f"outside-data ranking fitted on {len(sets)} case sets ({weights}) → {path}")


def bench_localize() -> None:
    """Time the localize stage per tick on ``large`` and on 100k cells, and print the table."""
    from rich.table import Table

    from streams.bench.localize import hundred_k_cells, localize_cost

    t = Table(title="netloop bench: the localize stage per tick after warm-up (decode, observe, rank)")
    for col in ("scenario", "topology entities", "events/tick", "mean ms", "p99 ms", "max ms",
                "rank mean ms", "rank p99 ms", "detect mean ms"):
        t.add_column(col, justify="left" if col == "scenario" else "right")
    for sc in ("large", hundred_k_cells()):
        c = localize_cost(sc)
        t.add_row(c.scenario, f"{c.entities:,}", f"{c.events / c.ticks:,.0f}", f"{c.localize_mean_ms:.1f}",
                  f"{c.localize_p99_ms:.1f}", f"{c.localize_max_ms:.1f}", f"{c.rank_mean_ms:.1f}",
                  f"{c.rank_p99_ms:.1f}", f"{c.detect_mean_ms:.1f}")
    Console(width=max(Console().width, 130)).print(t)
