"""The one root-cause ranking: evidence from metrics, its features, the learned weights, generic cases."""

from __future__ import annotations

import numpy as np
import pytest

from detectors import (
    FEATURES,
    Case,
    RankingModel,
    entity_features,
    fit_model,
    metric_evidence,
    rank,
    rank_root_causes,
    shipped_ranking,
)
from detectors.fitting import cross_validated_ranks, ranks
from detectors.ranking import edge_parents


def block(rows: int = 100, cols: int = 4, seed: int = 0, level: float = 10.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(level, 0.02 * level, size=(rows, cols))


def feature(F: np.ndarray, row: int, name: str) -> float:
    return float(F[row, FEATURES.index(name)])


# --- evidence from metrics ---------------------------------------------------------------------


def test_an_idle_copy_of_a_metric_that_wakes_up_scores_far_below_a_busy_one_that_drops():
    X = block(rows=40, cols=2, level=2340.0)
    X[:, 1] = 0.0                      # the same KPI on an idle interface
    X[30:, 0] -= 540.0                 # the busy one loses a quarter of its traffic
    X[30:, 1] = 16.0                   # the idle one goes from 0 to 16 packets/s
    ev = metric_evidence(X, ["r1", "r2"], ["Gi2-rx-pps", "Gi4-rx-pps"], 30)
    assert ev.magnitude[0] > 5 * ev.magnitude[1]
    assert ev.magnitude[1] < 2.0 and ev.idle.tolist() == [False, True]


def test_a_column_constant_before_the_start_cannot_explode_however_small_its_change():
    X = np.zeros((30, 1))
    X[25:, 0] = 1e-6                   # the whole family sat at 0
    ev = metric_evidence(X, ["svc"], ["errors"], 25)
    assert ev.magnitude[0] <= 1.0 / 0.01 and ev.status.tolist() == [True]


def test_a_counter_that_moves_by_one_step_is_one_step_not_a_million_sigmas():
    X = np.full((30, 1), 7.0)
    X[::3, 0] = 8.0                    # an integer counter, mostly 7
    X[25:, 0] = 9.0
    ev = metric_evidence(X, ["svc"], ["sessions"], 25)
    assert ev.magnitude[0] == pytest.approx(2.0)


def test_a_one_row_spike_after_the_start_does_not_count_but_a_lasting_change_does():
    X = block(rows=40, cols=2)
    X[31, 0] += 5.0                    # one row
    X[31:, 1] += 5.0                   # lasting
    ev = metric_evidence(X, ["a", "b"], ["x", "x"], 30)
    assert ev.magnitude[0] < 5 < ev.magnitude[1] and ev.onset.tolist() == [np.inf, 1.0]


def test_a_column_that_stops_reporting_changed_status():
    X = block(rows=30, cols=2)
    missing = np.zeros_like(X, dtype=bool)
    missing[26:, 1] = True             # filled with the last value: no change in the numbers
    X[26:, 1] = X[25, 1]
    ev = metric_evidence(X, ["a", "b"], ["x", "y"], 25, missing=missing)
    assert ev.status.tolist() == [False, True]


# --- features and ranking -------------------------------------------------------------------------


def test_the_blame_of_a_dependent_goes_to_its_anomalous_upstream_entity_not_its_quiet_one():
    X = block(rows=40, cols=3)
    X[30:, 0] += 3.0                   # db: modest
    X[30:, 1] += 8.0                   # api, behind db and cache
    ev = metric_evidence(X, ["db", "api", "cache"], ["lat", "lat", "hit"], 30)
    F = entity_features(ev, ["db", "api", "cache"], edge_parents([("db", "api"), ("cache", "api")]))
    assert feature(F, 0, "blame") > 2 * feature(F, 2, "blame") > 0
    assert feature(F, 1, "blame") == 0.0


def test_without_a_graph_nobody_is_blamed():
    X = block(rows=40, cols=2)
    X[30:, 0] += 3.0
    F = entity_features(metric_evidence(X, ["a", "b"], ["x", "x"], 30), ["a", "b"])
    assert F[:, FEATURES.index("blame")].tolist() == [0.0, 0.0]


def test_when_nothing_moves_the_entity_with_idle_kpis_is_the_likeliest_root():
    X = block(rows=40, cols=4, level=1500.0)
    X[:, 3] = 0.1                      # b's second interface carries nothing
    names, kpis = ["a", "a", "b", "b"], ["Gi1-pps", "Gi2-pps", "Gi1-pps", "Gi2-pps"]
    r = rank(metric_evidence(X, names, kpis, 30), ["a", "b"], RankingModel({"quiet": 1.0}))
    assert r.ranked == ("b", "a") and feature(r.features, 0, "quiet") > 0.4


def test_with_clear_evidence_somewhere_idle_kpis_weigh_almost_nothing():
    X = block(rows=40, cols=4, level=1500.0)
    X[:, 3] = 0.1
    X[30:, 0] -= 600.0                 # a's first interface loses traffic
    ev = metric_evidence(X, ["a", "a", "b", "b"], ["Gi1-pps", "Gi2-pps", "Gi1-pps", "Gi2-pps"], 30)
    F = entity_features(ev, ["a", "b"])
    assert feature(F, 1, "quiet") < 0.05


def test_earlier_onset_ranks_first_between_equal_deviations():
    X = block(cols=2)
    X[:, 1] = X[:, 0]
    X[60:, 0] += 4.0
    X[62:, 1] += 4.0
    r = rank_root_causes(np.arange(100.0), X, ["early", "late"], anomaly_start=60)
    assert r.ranked == ("early", "late") and r.scores["early"] > r.scores["late"]
    assert r.onsets == {"early": 60, "late": 62}


def test_without_a_graph_the_largest_lasting_deviation_ranks_first():
    X = block()
    X[60:, 1] += 4.0                   # b: +20σ
    X[60:, 2] += 2.0                   # c: +10σ
    r = rank_root_causes(np.arange(100.0), X, ["a", "b", "c", "d"], anomaly_start=60)
    assert r.ranked[:2] == ("b", "c") and r.start == 60 and r.onsets["b"] == 60


def test_a_modest_root_whose_dependents_all_degrade_outranks_each_of_them_with_the_graph():
    X = block(cols=5)
    X[60:, 0] += 2.0                   # db: +10σ
    X[61:, 1:4] += 4.0                 # three services behind it: +20σ each
    names = ["db", "svc-1", "svc-2", "svc-3", "other"]
    edges = [("db", s) for s in names[1:4]] + [("other", "svc-1")]
    assert rank_root_causes(np.arange(100.0), X, names, anomaly_start=60).ranked[0] != "db"
    assert rank_root_causes(np.arange(100.0), X, names, edges=edges, anomaly_start=60).ranked[0] == "db"


def test_an_entity_known_only_from_the_graph_is_a_candidate_blamed_by_its_anomalous_dependents():
    X = block(cols=3)
    X[60:, :2] += 4.0                  # two hosts behind an unobserved switch
    names = ["host-a", "host-b", "host-c"]
    edges = [("switch", "host-a"), ("switch", "host-b"), ("other", "host-c")]
    r = rank_root_causes(np.arange(100.0), X, names, edges=edges, anomaly_start=60)
    assert set(r.ranked) == {*names, "switch", "other"}
    assert r.ranked.index("switch") == 2 and r.blame["switch"] > 2 * r.blame["other"]


def test_every_candidate_carries_the_kpis_values_baselines_and_onsets_that_ranked_it():
    X = block(cols=3)
    X[60:, 0] += 4.0
    r = rank_root_causes(np.arange(100.0), X, ["a", "a", "b"], kpis=["lat", "cpu", "lat"], anomaly_start=60)
    [e] = r.evidence["a"]
    assert (e.entity_id, e.kpi, e.onset) == ("a", "lat", 0.0)
    assert e.value == pytest.approx(14.0, abs=0.8) and e.baseline == pytest.approx(10.0, abs=0.1)
    assert "b" not in r.evidence


def test_an_anomaly_start_outside_the_metrics_is_refused():
    with pytest.raises(ValueError, match="anomaly_start"):
        rank_root_causes(np.arange(100.0), block(), list("abcd"), anomaly_start=500)


# --- fitting -----------------------------------------------------------------------------------


def synthetic_cases(n: int, informative: str, seed: int = 0) -> list[Case]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        F = rng.random((5, len(FEATURES)))
        truth = int(rng.integers(5))
        F[truth, FEATURES.index(informative)] += 1.0
        out.append(Case(F, truth))
    return out


def test_the_fitted_weights_are_never_negative_and_find_the_informative_feature():
    model = fit_model(synthetic_cases(80, "blame"))
    assert min(model.weights.values()) >= 0.0 and max(model.weights, key=model.weights.get) == "blame"
    assert (ranks(synthetic_cases(40, "blame", seed=1), model) == 1).mean() > 0.8


def test_features_left_out_of_the_fit_weigh_nothing():
    model = fit_model(synthetic_cases(40, "blame"), features=("peak", "breadth"))
    assert set(model.weights) == {"peak", "breadth"}
    assert RankingModel(model.weights).vector()[FEATURES.index("blame")] == 0.0


def test_cross_validation_scores_each_case_with_weights_fitted_without_its_fold():
    one = synthetic_cases(30, "breadth")
    other = synthetic_cases(30, "status", seed=2)  # a set where another feature tells the root
    held = cross_validated_ranks([one, other], k=3)
    assert [len(r) for r in held] == [30, 30] and all(r.min() >= 1 for r in held)
    # fitted on both, the weights serve both; fitted on one alone, they would not serve the other
    alone = ranks(other, fit_model(one))
    assert (held[1] == 1).mean() > (alone == 1).mean()


def test_the_shipped_outside_data_weights_are_non_negative_and_use_several_kinds_of_evidence():
    w = shipped_ranking("outside").weights
    assert min(w.values()) >= 0.0 and sum(v > 0 for v in w.values()) >= 4
