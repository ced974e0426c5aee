"""Labelled episodes from the simulator, and the fault-type classifier they train."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np

from detectors import FaultTypeClassifier, localize, shipped_calibration, shipped_classifier
from detectors.classifier import gone_dark, shipped_episodes
from streams.evaluate.episodes import HARDWARE, calibration_findings, labelled_episodes, simulated_faults
from tests.test_cli import netloop


def test_episodes_are_reproducible_from_the_seed():
    a, b, c = (labelled_episodes(seed=s, per_type=3) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    assert a[1] != c[1] or not np.array_equal(a[0], c[0])


def test_every_fault_type_is_among_the_episodes():
    _, labels = labelled_episodes(seed=1, per_type=12)  # faults last 2 ticks: about half are seen in time
    assert len(set(labels)) == 10  # every fixable type: a hardware failure is not simulated here


def test_the_classifier_types_held_out_faults_at_least_as_well_as_the_best_signature():
    graph, seen = simulated_faults(seed=7, per_type=8)
    by_signature = by_classifier = 0
    for (fault,), evidence, alarms in seen:
        ranked = [f.best for f in localize(evidence, graph) if f.best.entity_id == fault.target]
        by_signature += bool(ranked) and ranked[0].fault_type == fault.type
        by_classifier += shipped_classifier().classify(  # as the loop asks: no policy fixes hardware
            fault.target, evidence, graph, alarms, gone_dark(evidence), unremedied={"hardware_failure"}
        )[0] == fault.type
    assert by_classifier >= by_signature
    assert by_classifier >= 0.95 * len(seen)


def test_a_classifier_fitted_on_episodes_of_other_seeds_agrees_with_the_shipped_one():
    X, y = labelled_episodes(seed=3, per_type=6, world="realistic")  # the shipped one's world
    Xh, yh = labelled_episodes(seed=7, per_type=6, world="realistic", types=HARDWARE)
    X, y = np.vstack([X, Xh]), [*y, *yh]
    model = FaultTypeClassifier().fit(X, y)
    assert (model.predict(X) == shipped_classifier().predict(X)).mean() >= 0.85


def test_the_episodes_command_writes_features_and_labels(tmp_path):
    out = tmp_path / "episodes.json"
    done = netloop("episodes", "--out", str(out), "--per-type", "2", "--seed", "4")
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert len(data["features"]) == len(data["labels"]) > 0 and data["seed"] == 4
    assert len(data["calibration"]["raw"]) == len(data["calibration"]["right"]) > 0


def test_the_shipped_calibration_rises_with_the_raw_confidence_and_stays_a_probability():
    grid = [shipped_calibration()(r / 20) for r in range(21)]
    assert all(0.0 < p <= 1.0 for p in grid)
    assert all(a <= b for a, b in pairwise(grid))
    assert grid[0] < grid[-1]


def test_in_well_filled_bins_the_calibrated_confidence_matches_the_share_of_right_findings():
    data = shipped_episodes()["calibration"]
    raw, right = np.array(data["raw"]), np.array(data["right"], dtype=float)
    bins = np.minimum((raw * 10).astype(int), 9)
    for b in np.unique(bins):
        inside = bins == b
        if inside.sum() >= 30:
            assert abs(shipped_calibration()((b + 0.5) / 10) - right[inside].mean()) < 0.05


def test_calibration_findings_include_wrong_ones_when_the_classifier_is_wrong():
    X, _ = labelled_episodes(seed=5, per_type=3)
    two_types = FaultTypeClassifier().fit(X[:2], ["cell_outage", "link_down"])  # every cell: an outage
    raw, right = calibration_findings(two_types, seed=6, per_type=2)
    assert len(raw) == len(right) > 0 and not all(right)



def test_hardware_failures_of_cells_and_nfs_are_simulated_apart_with_their_alarm_standing():
    _, seen = simulated_faults(seed=9, per_type=12, types=HARDWARE)
    assert seen and all(ep.faults[0].type == "hardware_failure" for ep in seen)
    assert all("equipment" in ep.alarms.get(ep.faults[0].target, ()) for ep in seen)  # ideal: no delay
    assert {ep.faults[0].target.split("-")[0] for ep in seen} > {"cell"}  # radio units and NF blades


def test_failed_hardware_is_named_when_its_alarm_stands_and_a_fixable_fault_never_when_it_is_unremedied():
    announced = named = wrong_way = 0
    for types in (HARDWARE, ("cell_outage", "interference")):
        graph, seen = simulated_faults(seed=11, per_type=10, types=types, world="realistic")
        for (fault,), evidence, alarms in seen:
            typed = shipped_classifier().classify(fault.target, evidence, graph, alarms, gone_dark(evidence),
                                                  unremedied={"hardware_failure"})[0]
            wrong_way += typed == "hardware_failure" != fault.type
            if "equipment" in alarms.get(fault.target, ()):  # the alarm comes 0-3 ticks after the onset
                announced += 1
                named += typed == "hardware_failure"
    assert wrong_way == 0 and announced >= 3 and named == announced
