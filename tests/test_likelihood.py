"""The default detector set on its own: calibrated tail probabilities, graded records, one alarm per
anomaly at its onset, a state that lasts as long as the anomaly, and a warm-up the data decide."""

from __future__ import annotations

import numpy as np

from detectors import DEFAULT_LEVEL, AnomalyLikelihood, OnsetFilter, RecordChannels, TailModel, default_filter
from detectors.sweep import TREND

ALARM = 1.0 - DEFAULT_LEVEL


def drive(f: OnsetFilter, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, flags and onset scores of every step of X (T×N×K)."""
    scores, flags, onsets = [], [], []
    for x in X:
        s, fl = f.step(x)
        scores.append(s)
        flags.append(fl)
        onsets.append(f.alarm_scores)
    return np.stack(scores), np.stack(flags), np.stack(onsets)


def noisy(T: int, seed: int = 0, level: float = 50.0) -> np.ndarray:
    return (level + np.random.default_rng(seed).normal(size=(T, 1, 1))).astype(np.float32)


def test_a_lasting_level_shift_alarms_once_at_its_onset_and_stays_flagged_while_it_lasts():
    X = noisy(900)
    X[600:] += 12.0
    f = default_filter(np.array([1.0]))
    _, flags, onsets = drive(f, X)
    assert int(f.onset_count[0, 0]) == 1
    assert np.flatnonzero(onsets[:, 0, 0] >= ALARM).tolist() == [600]
    assert flags[600:840, 0, 0].all()  # until max_state: the series stays away from where it came from


def test_the_state_ends_when_the_value_comes_back():
    X = noisy(800)
    X[600:620] += 12.0
    _, flags, _ = drive(default_filter(np.array([1.0])), X)
    assert flags[600:620, 0, 0].all()
    assert not flags[625:, 0, 0].any()


def test_a_change_in_the_good_direction_never_alarms():
    X = noisy(800)
    X[600:] -= 12.0
    f = default_filter(np.array([1.0]))
    _, flags, _ = drive(f, X)
    assert not flags.any() and int(f.onset_count.sum()) == 0


def test_a_quantised_counter_stepping_by_its_quantum_does_not_alarm():
    rng = np.random.default_rng(2)
    X = rng.choice([3.0, 4.0], size=(2000, 1, 1), p=[0.97, 0.03]).astype(np.float32)  # mostly flat
    f = default_filter(np.array([0.0]))
    drive(f, X)
    # about 60 steps of one quantum: ordinary, not each a surprise of 1e6 sigmas (2000 points at the
    # alarm level allow 0.2 onsets; the quantum's steps, on a flat series, make it a few at most)
    assert int(f.onset_count.sum()) <= 2


def test_a_flat_series_that_leaves_its_value_alarms():
    X = np.full((600, 1, 1), 7.0, dtype=np.float32)
    X[500:] = 9.0
    f = default_filter(np.array([0.0]))
    _, flags, _ = drive(f, X)
    assert int(f.onset_count.sum()) == 1 and flags[500, 0, 0]


def test_one_tail_probability_means_one_false_alarm_rate_on_light_and_heavy_tails():
    rng = np.random.default_rng(5)
    u = np.abs(np.stack([rng.normal(size=20000), rng.standard_t(2, size=20000)], axis=1))[:, None, :]
    t = TailModel()
    hits = np.zeros(2)
    for i, x in enumerate(u.astype(np.float32)):
        if i > 2000:
            hits += (t.probability(x)[0] < 1e-3)
        t.learn(x)
    rate = hits / (len(u) - 2001)
    assert (rate < 5e-3).all() and (rate > 1e-4).all()  # about 1e-3 on both, not 1e-6 and 1e-1


def test_a_record_right_after_a_record_is_ordinary():
    rc = RecordChannels(directions=np.array([1.0]))
    rng = np.random.default_rng(0)
    for v in rng.normal(size=(400, 1, 1)):
        rc.learn(v, np.zeros((1, 1)))
    probs = []
    for v in np.linspace(4.0, 6.0, 5):  # five records in a row
        x = np.array([[v]])
        probs.append(float(rc.probability(x, np.zeros((1, 1)))[0, 0]))
        rc.learn(x, np.zeros((1, 1)))
    assert probs[0] < 1e-3 and probs[1] > 10 * probs[0]  # the next record of the run is ordinary


def test_scoring_starts_when_the_data_have_given_a_tail_to_stand_on():
    d = AnomalyLikelihood(directions=np.array([0.0]))
    warm_at = None
    for i, x in enumerate(noisy(400)):
        d.learn_many(x)
        if warm_at is None and d.warm()[0, 0]:
            warm_at = i
    assert warm_at is not None and 40 <= warm_at <= 150


def test_scores_and_onset_scores_are_probabilities_and_onsets_score_only_at_their_start():
    X = noisy(900, seed=3)
    X[500:540] += 15.0
    scores, _, onsets = drive(default_filter(np.array([0.0])), X)
    assert ((scores >= 0) & (scores <= 1)).all() and ((onsets >= 0) & (onsets <= 1)).all()
    assert (onsets[501:540] < ALARM).all() and onsets[500, 0, 0] >= ALARM


def test_rows_that_stay_score_as_if_no_entity_had_joined_or_left():
    rng = np.random.default_rng(7)
    X = (50 + rng.normal(size=(400, 3, 2))).astype(np.float32)
    churned, steady = default_filter(np.zeros(2)), default_filter(np.zeros(2))
    for x in X[:300]:
        churned.step(x)
        steady.step(x)
    churned.select_rows(np.array([2, -1, 0]))  # entity 1 leaves, a new one joins, the others swap rows
    for x in X[300:]:
        new = (10 + rng.normal(size=(1, 2))).astype(np.float32)
        a, fa = churned.step(np.stack([x[2], new[0], x[0]]))
        b, fb = steady.step(x)
        np.testing.assert_array_equal(a[[0, 2]], b[[2, 0]])
        np.testing.assert_array_equal(fa[[0, 2]], fb[[2, 0]])


def test_a_joining_entity_warms_up_on_its_own_as_a_fresh_detector_would():
    rng = np.random.default_rng(8)
    old = (50 + rng.normal(size=(300, 1, 2))).astype(np.float32)
    new = (10 + rng.normal(size=(200, 1, 2))).astype(np.float32)
    f, alone = default_filter(np.zeros(2)), default_filter(np.zeros(2))
    for x in old:
        f.step(x)
    f.select_rows(np.array([0, -1]))
    for x, y in zip(old[:200], new, strict=True):
        s, _ = f.step(np.concatenate([x, y]))
        t, _ = alone.step(y)
        np.testing.assert_allclose(s[1], t[0])


def test_an_absent_entity_learns_nothing_and_raises_nothing():
    X = noisy(500)
    f, g = default_filter(np.array([1.0])), default_filter(np.array([1.0]))
    for x in X[:400]:
        f.step(x)
        g.step(x)
    f.step(np.full((1, 1), 1e6, dtype=np.float32), np.zeros((1, 1), dtype=bool))  # absent: a filler value
    for x in X[400:]:
        np.testing.assert_array_equal(f.step(x)[0], g.step(x)[0])


def test_a_surprise_as_large_as_one_seen_lately_is_at_most_as_rare_as_that_once_in_so_long():
    rng = np.random.default_rng(11)
    with_recency, without = TailModel(), TailModel(recent=0)
    for t in (with_recency, without):
        for u in np.abs(rng.normal(size=(2000, 1, 1))).astype(np.float32):
            t.learn(u)
        t.learn(np.full((1, 1), 30.0, dtype=np.float32))  # a thirty-sigma surprise
        for u in np.abs(rng.normal(size=(99, 1, 1))).astype(np.float32):
            t.learn(u)
    again = np.full((1, 1), 29.0, dtype=np.float32)  # a hundred learned steps later, one as large
    assert without.probability(again)[0, 0] < 1e-4  # the fitted tail alone: next to impossible
    assert with_recency.probability(again)[0, 0] >= 1 / 100  # it happened once in the last 100 steps
    assert with_recency.probability(np.full((1, 1), 31.0, dtype=np.float32))[0, 0] < 1e-4  # a larger one


def test_a_trend_that_does_not_stand_out_of_its_noise_is_not_extrapolated():
    d = AnomalyLikelihood(directions=np.array([0.0]))
    rng = np.random.default_rng(12)
    for x in (50 + rng.normal(size=(2000, 1, 1))).astype(np.float32):
        d.learn_many(x)
    raw = float(d._s[TREND][0, 0])
    # the forecast moves by the earned trend only: a noise trend of a few hundredths of a scale earns
    # a small part of itself
    assert abs(float(d.trend()[0, 0])) < 0.5 * abs(raw)


def test_a_steady_ramp_is_followed_and_raises_no_alarm():
    rng = np.random.default_rng(13)
    T = 3000
    X = (np.linspace(0, 300, T) + rng.normal(size=T)).astype(np.float32).reshape(T, 1, 1)
    f = default_filter(np.array([0.0]))
    drive(f, X)
    assert int(f.onset_count.sum()) <= 1  # 3000 points at the alarm level allow 0.3 onsets
    assert abs(float(f.detector.trend()[0, 0]) - 0.1) < 0.04  # 300 over 3000 points, earned


def test_every_compiled_function_of_the_detectors_lives_in_one_file():
    # numba's disk cache checks only the file of the function it caches: a helper inlined from another
    # file could change and leave a stale kernel behind
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    import detectors

    places = set()
    for info in pkgutil.iter_modules(detectors.__path__):
        module = importlib.import_module(f"detectors.{info.name}")
        for value in vars(module).values():
            if isinstance(value, CPUDispatcher):
                places.add(value.py_func.__module__)
    assert places == {"detectors.sweep"}
