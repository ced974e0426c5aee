"""Detectors: a conformance suite for the baselines (bare or filtered), localization, incidents."""

from __future__ import annotations

import copy
from functools import partial

import numpy as np
import pytest

from detectors import (
    SIGNATURES,
    AnomalyFilter,
    HalfSpaceTrees,
    HoltBaseline,
    IncidentTracker,
    LevelShift,
    QuantileThreshold,
    RobustBaseline,
    SeasonalBaseline,
    TopologyGraph,
    ZThreshold,
    localize,
    shipped_classifier,
)
from schemas import AnomalyEvent, IncidentStatus
from simulator import Topology

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


SEASONAL = partial(SeasonalBaseline, period=40, slots=4)  # a short "day", so every slot is learned
HST = partial(HalfSpaceTrees, window=20)  # mass windows short enough for the 300-step stream

SUBJECTS = pytest.mark.parametrize(
    "make",
    [Bare, Filtered, partial(Bare, RobustBaseline), partial(Filtered, RobustBaseline),
     partial(Bare, SEASONAL), partial(Filtered, SEASONAL), partial(Bare, LevelShift),
     partial(Filtered, LevelShift), partial(Bare, HST), partial(Filtered, HST),
     partial(Filtered, LevelShift, QuantileThreshold)],
    ids=["bare", "filtered", "robust-bare", "robust-filtered", "seasonal-bare", "seasonal-filtered",
         "levelshift-bare", "levelshift-filtered", "hst-bare", "hst-filtered", "levelshift-quantile"],
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
    owners = [subject.detector, f, getattr(f, "threshold", None)]
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


# --- localization ------------------------------------------------------------------------------

LAT, LOSS = "latency_ms", "packet_loss_ratio"


@pytest.fixture
def graph() -> TopologyGraph:
    # upf-1 serves sites 1 and 3, upf-2 sites 2 and 4; smf-1 sites 1 and 3
    records = Topology.build(sites=4, cells_per_site=3, upf=2, smf=2, amf=2).records()
    return TopologyGraph(records)


def cells(*sites: int) -> list[str]:
    return [f"cell-{s:04d}-{k}" for s in sites for k in (1, 2, 3)]


def roots(findings) -> set[tuple[str, str]]:
    return {(f.best.entity_id, f.best.fault_type) for f in findings}


def test_a_link_and_its_cells_with_latency_and_loss_point_to_link_degradation(graph):
    anomalous = {"link-0003": {LAT, LOSS}, **{c: {LAT, LOSS} for c in cells(3)}}
    findings = localize(anomalous, graph)
    assert len(findings) == 1
    best = findings[0].best
    assert (best.entity_id, best.fault_type) == ("link-0003", "link_degradation")
    assert findings[0].confidence > 0.5


def test_a_lone_cell_with_bad_radio_points_to_interference_on_it(graph):
    anomalous = {"cell-0002-2": {"cqi", "bler_ratio", "throughput_mbps"}}
    assert roots(localize(anomalous, graph)) == {("cell-0002-2", "interference")}


def test_a_upf_and_all_its_cells_point_to_upf_overload(graph):
    anomalous = {
        "upf-1": {"cpu_utilization_ratio", LAT, "error_rate_ratio"},
        **{c: {LAT, "throughput_mbps"} for c in cells(1, 3)},
    }
    assert roots(localize(anomalous, graph)) == {("upf-1", "upf_overload")}


def test_two_faults_in_different_places_give_two_findings(graph):
    anomalous = {
        "cell-0001-1": {"prb_utilization_ratio", "throughput_mbps", "active_users", "cqi"},
        "link-0004": {LAT, LOSS},
        **{c: {LAT, LOSS} for c in cells(4)},
    }
    assert roots(localize(anomalous, graph)) == {
        ("cell-0001-1", "cell_outage"),
        ("link-0004", "link_degradation"),
    }


def test_an_smf_fault_and_interference_on_one_of_its_cells_are_both_found(graph):
    anomalous = {
        "smf-1": {"error_rate_ratio"},
        **{c: {"active_users", "drop_rate_ratio"} for c in cells(1, 3)},
    }
    anomalous["cell-0003-2"] = anomalous["cell-0003-2"] | {"cqi", "bler_ratio", "throughput_mbps"}
    assert roots(localize(anomalous, graph)) == {
        ("smf-1", "smf_session_failure"),
        ("cell-0003-2", "interference"),
    }


def test_no_anomalies_give_no_findings(graph):
    assert localize({}, graph) == []


# --- incidents ----------------------------------------------------------------------------------

OUTAGE = ("cell-0001-1", ("prb_utilization_ratio", "throughput_mbps", "active_users", "cqi"))


def observe(tracker: IncidentTracker, tick: int, entity: str, kpis: tuple[str, ...]) -> None:
    for kpi in kpis:
        tracker.observe(
            AnomalyEvent(
                entity_id=entity,
                kpi=kpi,
                tick=tick,
                value=0.0,
                expected=1.0,
                score=9.0,
                detector="test",
            )
        )


def anomalies_at(
    tracker: IncidentTracker, tick: int, entity: str = OUTAGE[0], kpis: tuple[str, ...] = OUTAGE[1]
):
    """Observe one tick of anomalies on ``entity``, close the tick, return incidents opened."""
    observe(tracker, tick, entity, kpis)
    return tracker.close_tick(tick)


def test_a_root_anomalous_in_one_tick_only_opens_no_incident(graph):
    tracker = IncidentTracker(graph=graph)
    assert anomalies_at(tracker, 10) == []
    for tick in range(11, 16):
        assert tracker.close_tick(tick) == []
    assert tracker.active() == []


def test_two_consecutive_ticks_open_exactly_one_incident(graph):
    tracker = IncidentTracker(graph=graph)
    assert anomalies_at(tracker, 10) == []
    opened = anomalies_at(tracker, 11)
    assert len(opened) == 1
    incident = opened[0]
    assert (incident.candidates[0].entity_id, incident.fault_type) == ("cell-0001-1", "cell_outage")
    assert (incident.status, incident.opened_tick) == (IncidentStatus.OPEN, 11)


def test_two_ticks_with_a_gap_open_no_incident(graph):
    tracker = IncidentTracker(graph=graph)
    assert anomalies_at(tracker, 10) == []
    assert tracker.close_tick(11) == []
    assert anomalies_at(tracker, 12) == []


def test_a_lasting_fault_does_not_open_another_incident(graph):
    tracker = IncidentTracker(graph=graph)
    anomalies_at(tracker, 10)
    anomalies_at(tracker, 11)
    for tick in range(12, 40):
        assert anomalies_at(tracker, tick) == []
    assert len(tracker.active()) == 1


def test_after_resolution_a_new_fault_on_the_same_root_opens_a_new_incident(graph):
    tracker = IncidentTracker(graph=graph)
    anomalies_at(tracker, 10)
    (first,) = anomalies_at(tracker, 11)
    tracker.update_status(first.model_copy(update={"status": IncidentStatus.RESOLVED, "tick": 12}))
    assert tracker.active() == []
    for tick in range(12, 30):
        tracker.close_tick(tick)
    assert anomalies_at(tracker, 30) == []
    (second,) = anomalies_at(tracker, 31)
    assert second.incident_id != first.incident_id
    assert second.candidates[0].entity_id == "cell-0001-1"


def test_two_faults_in_different_places_open_two_incidents(graph):
    tracker = IncidentTracker(graph=graph)
    link = {"link-0004": (LAT, LOSS), **{c: (LAT, LOSS) for c in cells(4)}}
    opened = []
    for tick in (10, 11):
        for entity, kpis in link.items():
            observe(tracker, tick, entity, kpis)
        opened += anomalies_at(tracker, tick)
    assert {i.candidates[0].entity_id for i in opened} == {"cell-0001-1", "link-0004"}


def test_a_fault_that_pauses_and_returns_while_its_incident_is_open_opens_nothing_new(graph):
    tracker = IncidentTracker(graph=graph, window=3)
    anomalies_at(tracker, 10)
    (first,) = anomalies_at(tracker, 11)
    for tick in range(12, 20):  # quiet long enough for the window to forget the anomalies
        assert tracker.close_tick(tick) == []
    assert anomalies_at(tracker, 20) == [] and anomalies_at(tracker, 21) == []
    assert [i.incident_id for i in tracker.active()] == [first.incident_id]


def test_one_kpi_out_of_range_two_ticks_in_a_row_opens_nothing_three_ticks_open_an_incident(graph):
    tracker = IncidentTracker(graph=graph)
    lone = ("cell-0002-1", ("drop_rate_ratio",))
    assert anomalies_at(tracker, 10, *lone) == []
    assert anomalies_at(tracker, 11, *lone) == []
    (incident,) = anomalies_at(tracker, 12, *lone)
    assert incident.candidates[0].entity_id == "cell-0002-1"


def core_fault_then_cell_fault(graph, core: dict, cell: str, kpis: tuple[str, ...]) -> list:
    """Incidents opened over ticks 10-15: the core fault's anomalies from 10, the cell's from 13."""
    tracker = IncidentTracker(graph=graph)
    opened = []
    for tick in range(10, 16):
        for entity, core_kpis in core.items():
            observe(tracker, tick, entity, core_kpis)
        if tick >= 13:
            observe(tracker, tick, cell, kpis)
        opened += tracker.close_tick(tick)
    return opened


def test_a_cell_fault_under_an_active_core_incident_opens_its_own_incident(graph):
    upf = {"upf-2": ("cpu_utilization_ratio", LAT, "error_rate_ratio"),
           **{c: (LAT, "throughput_mbps") for c in cells(2, 4)}}
    congestion = ("prb_utilization_ratio", LAT, "drop_rate_ratio", "throughput_mbps")
    opened = core_fault_then_cell_fault(graph, upf, "cell-0002-2", congestion)
    assert [(i.candidates[0].entity_id, i.fault_type) for i in opened] == [
        ("upf-2", "upf_overload"), ("cell-0002-2", "cell_congestion")]


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


# --- fault-type classifier -----------------------------------------------------------------------


class FixedType:
    """A classifier stand-in that always answers the same type."""

    def classify(self, root, anomalous, graph):
        return "interference", 0.9


def test_a_tracker_with_a_classifier_types_the_incident_and_its_first_candidate_by_it(graph):
    tracker = IncidentTracker(graph=graph, classifier=FixedType())
    anomalies_at(tracker, 10)
    (incident,) = anomalies_at(tracker, 11)
    assert incident.fault_type == incident.candidates[0].fault_type == "interference"
    assert incident.candidates[0].entity_id == "cell-0001-1"


def test_the_classifier_only_names_a_fault_type_the_roots_kind_can_have(graph):
    cell_like = {"upf-1": {"cpu_utilization_ratio"}, **{c: {"cqi", "bler_ratio"} for c in cells(1, 3)}}
    assert shipped_classifier().classify("upf-1", cell_like, graph)[0] == "upf_overload"


@pytest.mark.parametrize("fault_type", ["cell_outage", "interference", "handover_failure", "link_down"])
def test_the_shipped_classifier_types_a_textbook_signature(graph, fault_type):
    root = "link-0002" if fault_type == "link_down" else "cell-0002-1"
    (signature,) = [s for s in SIGNATURES if s.fault_type == fault_type]
    behind = {c: set(signature.cell_kpis) for c in graph.cells_of(root)}
    anomalous = {root: set(signature.root_kpis), **behind}
    assert shipped_classifier().classify(root, anomalous, graph)[0] == fault_type


def test_a_tracker_with_a_calibration_reports_the_calibrated_confidence(graph):
    tracker = IncidentTracker(graph=graph, calibration=lambda raw: 0.5 + raw / 10)
    anomalies_at(tracker, 10)
    (incident,) = anomalies_at(tracker, 11)
    raw = localize({OUTAGE[0]: set(OUTAGE[1])}, graph)[0].confidence
    assert incident.confidence == round(0.5 + raw / 10, 3)


def test_a_handover_failure_on_a_cell_already_dropping_under_an_smf_fault_opens_its_own_incident(graph):
    smf = {"smf-1": ("error_rate_ratio",), **{c: ("active_users", "drop_rate_ratio") for c in cells(1, 3)}}
    handover = ("handover_success_ratio", "drop_rate_ratio", "active_users")
    opened = core_fault_then_cell_fault(graph, smf, "cell-0003-2", handover)
    assert [i.candidates[0].entity_id for i in opened] == ["smf-1", "cell-0003-2"]


def test_a_cell_hypothesis_made_only_of_a_core_incidents_symptoms_merges_into_it(graph):
    tracker = IncidentTracker(graph=graph)
    upf = {"upf-2": ("cpu_utilization_ratio", LAT, "error_rate_ratio"),
           **{c: (LAT, "throughput_mbps") for c in cells(2, 4)}}
    opened = []
    for tick in range(10, 20):
        for entity, kpis in upf.items():
            observe(tracker, tick, entity, kpis)
        opened += tracker.close_tick(tick)
    assert [i.candidates[0].entity_id for i in opened] == ["upf-2"]
