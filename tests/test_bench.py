"""netloop bench: every path it prints is measured (its numbers live in the README, not here)."""

from __future__ import annotations

from streams.bench.loop import detector_rates


def test_the_detector_bench_measures_every_path_it_prints():
    rates = detector_rates(sites=70, steps=12, seconds=0.01)
    assert set(rates) == {"default_detectors_batch", "previous_default_holt_cusum_batch",
                          "default_detectors_per_row", "numpy_ewma",
                          "hst_vectorized_batch", "river_hst_per_sample"}
    assert all(r > 0 for r in rates.values())  # no speed threshold: the numbers live in the README
