"""Detectors: one conformance suite for every baseline, threshold and filter, bare or combined; and the
seasonal, level-shift and quantile detectors (localization and incidents: test_localizer.py)."""

from __future__ import annotations

import copy
from functools import partial

import numpy as np
import pytest

from detectors import (
    AnomalyFilter,
    HalfSpaceTrees,
    HoltBaseline,
    LevelShift,
    QuantileThreshold,
    RobustBaseline,
    SeasonalBaseline,
    ZThreshold,
    default_filter,
)

# --- the conformance suite --------------------------------------------------------------------

DIRECTIONS = np.array([1.0, -1.0, 0.0])  # higher bad, lower bad, both bad
WARMUP = 20


def stream(T: int = 300, N: int = 4, seed: int = 0) -> np.ndarray:
    """T steps of N×K healthy series: a per-series level, a slow ramp and noise."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(10.0, 100.0, size=(N, len(DIRECTIONS)))
    ramp = np.linspace(0.0, 0.2, T)[:, None, None] * level
    return level + ramp + rng.normal(0.0, 0.01, size=(T, N, len(DIRECTIONS))) * level


class Bare:
    """A bare baseline driven as a pipeline does: score a step, then learn it."""

    def __init__(self, baseline=HoltBaseline) -> None:
        self.detector = baseline(directions=DIRECTIONS, warmup=WARMUP)

    def step(self, X: np.ndarray) -> np.ndarray:
        scores = self.detector.score_many(X)
        self.detector.learn_many(X)
        return scores


class Filtered:
    """The baseline behind an AnomalyFilter."""

    def __init__(self, baseline=HoltBaseline, threshold=ZThreshold) -> None:
        self.detector = baseline(directions=DIRECTIONS, warmup=WARMUP)
        self.filter = AnomalyFilter(
            detector=self.detector, threshold=threshold(), relearn_after=5
        )

    def step(self, X: np.ndarray) -> np.ndarray:
        return self.filter.step(X)[0]


class Default:
    """The loop's default set: an OnsetFilter over an AnomalyLikelihood (tails and records inside)."""

    def __init__(self) -> None:
        self.filter = default_filter(DIRECTIONS)
        self.detector = self.filter.detector

    def step(self, X: np.ndarray) -> np.ndarray:
        return self.filter.step(X)[0]

    @property
    def owners(self) -> list[object]:
        d = self.detector
        return [d, self.filter, *(getattr(d, k) for k in ("_point", "_burst", "_records") if hasattr(d, k))]


SEASONAL = partial(SeasonalBaseline, period=40, slots=4)  # a short "day", so every slot is learned
HST = partial(HalfSpaceTrees, window=20)  # mass windows short enough for the 300-step stream

SUBJECTS = pytest.mark.parametrize(
    "make",
    [Bare, Filtered, partial(Bare, RobustBaseline), partial(Filtered, RobustBaseline),
     partial(Bare, SEASONAL), partial(Filtered, SEASONAL), partial(Bare, LevelShift),
     partial(Filtered, LevelShift), partial(Bare, HST), partial(Filtered, HST),
     partial(Filtered, LevelShift, QuantileThreshold), Default],
    ids=["bare", "filtered", "robust-bare", "robust-filtered", "seasonal-bare", "seasonal-filtered",
         "levelshift-bare", "levelshift-filtered", "hst-bare", "hst-filtered", "levelshift-quantile",
         "default-set"],
)


def run(subject, X: np.ndarray) -> np.ndarray:
    return np.stack([subject.step(x) for x in X])


@SUBJECTS
def test_a_batch_of_series_scores_like_one_detector_per_series(make):
    X = stream()
    X[150, 2, 0] += 50.0  # a spike, so the filtered variant also exercises its mask
    together = run(make(), X)
    apart = np.concatenate([run(make(), X[:, i : i + 1]) for i in range(X.shape[1])], axis=1)
    np.testing.assert_array_equal(together, apart)


@SUBJECTS
def test_scoring_does_not_change_what_the_detector_has_learned(make):
    X = stream()
    subject = make()
    run(subject, X[:200])
    untouched = copy.deepcopy(subject)
    probe = X[200] * 1.5
    first = subject.detector.score_many(probe)
    np.testing.assert_array_equal(subject.detector.score_many(probe), first)
    np.testing.assert_array_equal(run(subject, X[200:]), run(untouched, X[200:]))


@SUBJECTS
def test_the_same_input_gives_the_same_scores(make):
    X = stream()
    np.testing.assert_array_equal(run(make(), X), run(make(), X))


def state_shapes(subject) -> dict[str, tuple[int, ...]]:
    """Shapes of every array the subject keeps: detector, filter and threshold alike."""
    f = getattr(subject, "filter", None)
    owners = getattr(subject, "owners", None) or [subject.detector, f, getattr(f, "threshold", None)]
    return {
        f"{type(o).__name__}.{k}": v.shape
        for o in owners
        if o is not None
        for k, v in vars(o).items()
        if isinstance(v, np.ndarray)
    }


@SUBJECTS
def test_memory_stays_bounded_on_a_long_stream(make):
    X = stream(T=5000, N=3)
    subject = make()
    run(subject, X[:10])
    shapes = state_shapes(subject)
    run(subject, X[10:])
    assert state_shapes(subject) == shapes
    assert sum(int(np.prod(s)) for s in shapes.values()) < 10_000  # a few thousand floats for 3 entities


@SUBJECTS
@pytest.mark.parametrize(
    "kpi, bad",
    [(0, +1), (1, -1), (2, +1), (2, -1)],
    ids=["higher-bad", "lower-bad", "both-up", "both-down"],
)
def test_a_spike_in_the_bad_direction_outranks_every_healthy_score(make, kpi, bad):
    X = stream()
    spike = X[250].copy()
    spike[1, kpi] *= 1.0 + 0.3 * bad
    subject = make()
    healthy = run(subject, X[:250])
    assert subject.detector.score_many(spike)[1, kpi] > healthy.max()


@SUBJECTS
@pytest.mark.parametrize("kpi, good", [(0, -1), (1, +1)], ids=["higher-bad", "lower-bad"])
def test_a_spike_in_the_good_direction_scores_zero(make, kpi, good):
    X = stream()
    spike = X[250].copy()
    spike[1, kpi] *= 1.0 + 0.3 * good
    subject = make()
    run(subject, X[:250])
    assert subject.detector.score_many(spike)[1, kpi] == 0.0


def test_scores_are_never_negative():
    X = stream()
    X[100:110] *= 0.5  # drops and rises in every direction
    X[200:210] *= 2.0
    assert run(Bare(), X).min() == 0.0


@pytest.mark.parametrize("updates", [0, 1, WARMUP - 1])
def test_nothing_scores_above_zero_before_warmup_updates(updates):
    X = stream()
    detector = HoltBaseline(directions=DIRECTIONS, warmup=WARMUP)
    for x in X[:updates]:
        detector.learn_many(x)
    absurd = np.concatenate([X[updates, :2] * 100.0, X[updates, 2:] * -100.0])
    assert not detector.score_many(absurd).any()


def test_a_spike_scores_once_warmup_updates_have_been_seen():
    X = stream()
    detector = HoltBaseline(directions=DIRECTIONS, warmup=WARMUP)
    for x in X[:WARMUP]:
        detector.learn_many(x)
    assert (detector.score_many(X[WARMUP] * 100.0)[:, [0, 2]] > 0).all()


def test_a_masked_series_does_not_learn_while_the_others_do():
    X = stream()
    detector = HoltBaseline(directions=DIRECTIONS, warmup=WARMUP)
    for x in X[:50]:
        detector.learn_many(x)
    before = detector.expected()
    mask = np.ones(X[50].shape, dtype=bool)
    mask[1, 0] = False
    detector.learn_many(X[50] * 3.0, mask=mask)
    after = detector.expected()
    assert after[1, 0] == before[1, 0]
    assert (np.delete(after.ravel(), 3) != np.delete(before.ravel(), 3)).all()


# --- AnomalyFilter ---------------------------------------------------------------------------


def filtered_after_warmup(relearn_after: int = 3) -> tuple[AnomalyFilter, np.ndarray]:
    X = stream()
    detector = HoltBaseline(directions=DIRECTIONS, warmup=WARMUP)
    f = AnomalyFilter(detector=detector, threshold=ZThreshold(6.0), relearn_after=relearn_after)
    for x in X[:200]:
        f.step(x)
    return f, X


def test_the_filter_does_not_learn_from_a_flagged_point():
    f, X = filtered_after_warmup()
    before = f.detector.expected().copy()
    spike = X[200].copy()
    spike[0, 0] *= 2.0
    _, flags = f.step(spike)
    assert flags[0, 0] and flags.sum() == 1
    after = f.detector.expected()
    assert after[0, 0] == before[0, 0]
    assert after[1, 0] != before[1, 0]  # unflagged series learned


def test_the_filter_relearns_after_relearn_after_consecutive_flags():
    f, X = filtered_after_warmup(relearn_after=3)
    frozen = f.detector.expected()[0, 0]
    for t in range(200, 203):
        x = X[t].copy()
        x[0, 0] *= 2.0
        assert f.step(x)[1][0, 0]
        assert f.detector.expected()[0, 0] == frozen
    x = X[203].copy()
    x[0, 0] *= 2.0
    assert f.step(x)[1][0, 0]
    assert f.detector.expected()[0, 0] > frozen


def test_an_interrupted_run_of_flags_starts_counting_again():
    f, X = filtered_after_warmup(relearn_after=3)
    for t in (200, 201):
        x = X[t].copy()
        x[0, 0] *= 2.0
        assert f.step(x)[1][0, 0]
    assert not f.step(X[202])[1][0, 0]  # one healthy point breaks the run, and is learned
    frozen = f.detector.expected()[0, 0]
    for t in (203, 204, 205):  # three flags again: a run of 3, not 5, so still no learning
        x = X[t].copy()
        x[0, 0] *= 2.0
        assert f.step(x)[1][0, 0]
    assert f.detector.expected()[0, 0] == frozen


# --- seasonal, level shift, adaptive quantile -------------------------------------------------


def daily(days: int, period: int = 96, N: int = 20, seed: int = 1) -> np.ndarray:
    """Healthy series with a strong daily shape (peak in the afternoon, trough at night)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * period)[:, None, None]
    shape = 100.0 + 60.0 * np.sin(2 * np.pi * t / period) ** 3
    return shape + rng.normal(0.0, 1.0, size=(len(t), N, len(DIRECTIONS)))


def forecast_errors(detector, X: np.ndarray) -> np.ndarray:
    """|value − expected| of each step before it is learned."""
    errors = []
    for x in X:
        if hasattr(detector, "_level"):
            errors.append(np.abs(x - detector.expected()))
        detector.learn_many(x)
    return np.stack(errors)


def test_a_seasonal_baseline_expects_the_daily_shape_that_a_trend_baseline_lags_and_overshoots():
    X = daily(days=4)
    seasonal = SeasonalBaseline(directions=DIRECTIONS, period=96, slots=24)
    holt = HoltBaseline(directions=DIRECTIONS)
    day4 = slice(3 * 96 - 1, None)
    assert forecast_errors(seasonal, X)[day4].mean() * 2 < forecast_errors(holt, X)[day4].mean()


def test_a_level_shift_below_the_z_threshold_is_flagged_by_the_cusum_and_not_by_the_z_score():
    X = stream()
    X[200:, 1, 0] += 4.0 * 0.01 * X[200:, 1, 0]  # a lasting 4-sigma step
    cusum, z = Filtered(LevelShift), Filtered()
    flagged_cusum = run(cusum, X)[200:215, 1, 0] >= 6.0
    flagged_z = run(z, X)[200:215, 1, 0] >= 6.0
    assert flagged_cusum.any() and not flagged_z.any()


def test_a_quantile_threshold_is_higher_on_a_series_whose_healthy_scores_are_higher():
    rng = np.random.default_rng(0)
    t = QuantileThreshold(quantile=0.99, factor=1.5, floor=2.0)
    for _ in range(3000):
        t.learn(np.abs(rng.standard_t(4, size=(1, 2))) * [[1.0, 4.0]])
    calm, noisy = t.thresholds((1, 2))[0]
    assert 2.0 <= calm < noisy


def test_a_quantile_threshold_starts_at_its_floor_and_does_not_learn_masked_scores():
    t = QuantileThreshold(floor=6.0)
    assert t.thresholds((2, 3)).tolist() == [[6.0] * 3] * 2
    t.learn(np.ones((2, 3)))
    before = t.thresholds((2, 3)).copy()
    mask = np.ones((2, 3), dtype=bool)
    mask[0, 0] = False
    for _ in range(200):
        t.learn(np.full((2, 3), 50.0), mask=mask)
    after = t.thresholds((2, 3))
    assert after[0, 0] == before[0, 0] and after[1, 1] > before[1, 1]


def test_the_filter_with_learn_flagged_learns_from_every_point():
    f, X = filtered_after_warmup()
    f.learn_flagged = True
    before = f.detector.expected().copy()
    spike = X[200].copy()
    spike[0, 0] *= 2.0
    assert f.step(spike)[1][0, 0]
    assert f.detector.expected()[0, 0] != before[0, 0]
