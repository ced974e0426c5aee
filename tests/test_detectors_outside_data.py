"""Detectors for outside data: the robust baseline, univariate scoring, labelled windows, generic RCA."""

from __future__ import annotations

import numpy as np
import pytest

from detectors import (
    DEFAULT_DETECTOR,
    DEFAULT_LEVEL,
    SERIES_DETECTORS,
    RobustBaseline,
    WindowCounts,
    avg_at_k,
    change_point,
    score_series,
    squash,
    top_k_accuracy,
    window_counts,
    window_ids,
)


def noisy(n: int = 300, seed: int = 0, level: float = 50.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return level + 3.0 * np.sin(np.arange(n) / 40.0) + rng.normal(0.0, 0.5, n)


# --- the robust baseline ---------------------------------------------------------------------


def test_one_outlier_neither_moves_the_robust_baseline_nor_hides_the_next_spike():
    d = RobustBaseline(directions=np.array([0.0]), window=30, warmup=10)
    x = noisy(40)
    for v in [*x[:20], 500.0, *x[20:30]]:
        d.learn_many(np.array([[v]]))
    assert abs(d.expected()[0, 0] - np.median(x[:30])) < 0.5
    assert d.score_many(np.array([[x[30] + 10.0]]))[0, 0] > 6.0


def test_the_robust_baseline_scores_nothing_before_warmup_updates():
    d = RobustBaseline(directions=np.array([1.0]), warmup=10)
    for v in noisy(9):
        d.learn_many(np.array([[v]]))
    assert d.score_many(np.array([[1e6]]))[0, 0] == 0.0


def test_a_masked_series_does_not_learn_in_the_robust_baseline():
    d = RobustBaseline(directions=np.zeros(2), window=5, warmup=1)
    for v in range(5):
        d.learn_many(np.array([[float(v), float(v)]]))
    d.learn_many(np.array([[100.0, 100.0]]), mask=np.array([[True, False]]))
    d.learn_many(np.array([[100.0, 100.0]]), mask=np.array([[True, False]]))
    d.learn_many(np.array([[100.0, 100.0]]), mask=np.array([[True, False]]))
    assert d.expected().tolist() == [[100.0, 2.0]]


# --- univariate series, scores in [0, 1] --------------------------------------------------------


def test_the_squashed_score_is_one_half_exactly_at_the_z_threshold_and_below_one():
    z = np.array([0.0, 3.0, 6.0, 60.0, 1e9])
    s = squash(z, 6.0)
    assert s[0] == 0.0 and s[2] == 0.5 and (np.diff(s) > 0).all() and s[-1] <= 1.0


@pytest.mark.parametrize("detector", list(SERIES_DETECTORS))
def test_changing_a_future_value_does_not_change_earlier_scores(detector):
    x = noisy()
    changed = x.copy()
    changed[200:] += 40.0
    before, after = score_series([x], detector)[0], score_series([changed], detector)[0]
    np.testing.assert_array_equal(before[:200], after[:200])
    flag = 1.0 - DEFAULT_LEVEL if detector == DEFAULT_DETECTOR else 0.5  # netloop's alarm level; z 6 squashed
    assert after[200] >= flag > before[200]


@pytest.mark.parametrize("detector", list(SERIES_DETECTORS))
def test_series_of_different_lengths_score_side_by_side_as_they_do_alone(detector):
    series = [noisy(300, 1), noisy(120, 2, level=5.0), noisy(250, 3)]
    series[0][150] += 30.0
    together = score_series(series, detector)
    for s, t in zip(series, together, strict=True):
        np.testing.assert_array_equal(score_series([s], detector)[0], t)
        assert len(t) == len(s) and t.min() >= 0.0 and t.max() <= 1.0


def test_an_unknown_series_detector_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="holt, mad"):
        score_series([noisy()], "prophet")


# --- labelled windows -------------------------------------------------------------------------


def test_a_window_is_detected_by_one_flag_inside_it_ends_included():
    t = np.arange(10).astype("datetime64[m]")
    ids = window_ids(t, [(t[2], t[4]), (t[7], t[8])])
    flags = np.zeros(10, bool)
    flags[4] = flags[7] = True
    assert window_counts(flags, ids, 2) == WindowCounts(windows=2, detected=2, false_positives=0)


def test_false_positives_count_once_per_run_of_flags_outside_every_window():
    ids = np.array([-1, -1, -1, 0, 0, -1, -1, -1, -1])
    flags = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1], bool)  # a run leaving the window counts too
    assert window_counts(flags, ids, 1) == WindowCounts(windows=1, detected=1, false_positives=3)


def test_ratios_are_undefined_only_when_there_is_nothing_to_count():
    assert WindowCounts(0, 0, 0).f1 is None and WindowCounts(0, 0, 0).precision is None
    none_found = WindowCounts(windows=2, detected=0, false_positives=0)
    assert none_found.precision is None and none_found.recall == 0.0 and none_found.f1 == 0.0
    assert (WindowCounts(1, 1, 0) + WindowCounts(1, 0, 2)) == WindowCounts(2, 1, 2)


# --- change point and ranking accuracy ---------------------------------------------------------


def block(rows: int = 100, cols: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(10.0, 0.2, size=(rows, cols))


def test_the_change_point_is_the_earliest_strong_shift_not_the_largest():
    X = block()
    X[55:, 0] += 2.0
    X[58:, 2] += 20.0
    assert change_point(X) == 55


def test_a_block_too_short_for_a_change_point_is_refused():
    with pytest.raises(ValueError, match="too few"):
        change_point(block(rows=5))


def test_top_k_accuracy_and_avg_at_5_follow_the_rank_of_the_truth():
    rankings = [["a", "b", "c"], ["b", "c", "a"], ["c", "b", "a"], ["x", "y", "z"]]
    truths = ["a", "c", "a", "a"]  # ranks 1, 2, 3, absent
    assert [top_k_accuracy(rankings, truths, k) for k in (1, 2, 3, 5)] == [0.25, 0.5, 0.75, 0.75]
    assert avg_at_k(rankings, truths, 5) == pytest.approx((0.25 + 0.5 + 0.75 + 0.75 + 0.75) / 5)
