"""``netloop bench --fuzz N`` and ``--soak MINUTES``: print what :mod:`streams.bench.soak` measures."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.table import Table

_FIELDS = ("faults_injected", "faults_detected", "faults_localized_top1", "fault_type_correct",
           "faults_auto_remediated", "faults_escalated", "false_incidents", "false_actions")


def bench_fuzz(records: int) -> None:
    """Print the fuzzed run's handling of its hostile records beside the clean run's report."""
    from streams.bench.soak import fuzz_run

    logging.getLogger("netloop").setLevel(logging.ERROR)  # one warning per refused call otherwise
    clean, out = fuzz_run(records)
    console = Console()
    console.print(f"hostile records: {out.bad + out.taken:,} ({out.bad:,} malformed or forged, "
                  f"{out.taken:,} valid but hostile); {out.bad_lettered:,} of the {out.bad:,} became dead "
                  f"letters, {out.letters_without_reason} letters without a reason; stage crashes: "
                  f"{out.crashes}; hostile tool calls: {out.calls} ({out.calls_refused} refused)")
    t = Table(title="smoke, clean and fuzzed")
    for col in ("", "clean", "fuzzed"):
        t.add_column(col, justify="left" if not col else "right")
    for name in _FIELDS:
        t.add_row(name, str(getattr(clean, name)), str(getattr(out.report, name)))
    console.print(t)
    console.print("kinds: " + ", ".join(f"{k} {n}" for k, n in out.kinds.items()))


def bench_soak(minutes: float, baseline_minute: float = 5.0) -> None:
    """Print the soak's samples as they come, then how far the memory moved from the baseline minute
    (the bounded stores fill in the first minutes: the tool server's audit buffer takes about three)."""
    from streams.bench.soak import SOAK_TICKS_PER_S, drift, soak

    logging.getLogger("netloop").setLevel(logging.ERROR)
    console = Console(width=120)
    console.print(f"soak: {minutes:g} min at {SOAK_TICKS_PER_S:g} ticks/s, 20 hostile records and 5 hostile "
                  f"tool calls a tick", highlight=False)

    def show(sample: dict[str, float]) -> None:
        console.print(f"{sample['minutes']:6.1f} min  tick {sample['ticks']:>8,.0f}  hostile "
                      f"{sample['hostile']:>10,.0f}  dead letters {sample['dead_letters']:>10,.0f}  "
                      f"RSS {sample['rss_mb']:7.1f} MB", highlight=False)

    samples = soak(minutes, report=show)
    after = baseline_minute if minutes >= 2 * baseline_minute else minutes / 2
    d = drift(samples, after)
    if d is not None:
        lo, hi = d.band_pct
        console.print(f"RSS at {after:g} min {d.base_mb:.1f} MB; from then on {d.low_mb:.1f}–"
                      f"{d.high_mb:.1f} MB ({lo:+.1f}% to {hi:+.1f}%), slope {d.slope_mb_per_10min:+.2f} MB "
                      f"per 10 min", highlight=False)
