"""Localization on the topology, incidents (opening, merging, not flapping), the fault-type classifier
and the calibrated confidence."""

from __future__ import annotations

import numpy as np
import pytest

from detectors import (
    FaultTypeClassifier,
    IncidentTracker,
    TopologyGraph,
    localize,
    shipped_classifier,
    shipped_profiles,
    signature_features,
)
from schemas import AlarmEvent, AnomalyEvent, EntityKind, IncidentStatus
from simulator import Topology

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


def test_an_incident_opened_elsewhere_is_tracked_and_findings_on_its_root_merge_into_it(graph):
    tracker = IncidentTracker(graph=graph)
    anomalies_at(tracker, 10)
    (mine,) = anomalies_at(tracker, 11)
    again = mine.model_copy(update={"incident_id": "INC-000040-cell-0001-1", "opened_tick": 40, "tick": 40})
    tracker.update_status(mine.model_copy(update={"status": IncidentStatus.RESOLVED, "tick": 20}))
    tracker.update_status(again)  # verify reopens a fault that came back
    assert [i.incident_id for i in tracker.active()] == [again.incident_id]
    assert anomalies_at(tracker, 41) == [] and anomalies_at(tracker, 42) == []


def test_a_late_copy_of_a_retired_incident_is_not_tracked_again(graph):
    tracker = IncidentTracker(graph=graph)
    anomalies_at(tracker, 10)
    (mine,) = anomalies_at(tracker, 11)
    tracker.update_status(mine.model_copy(update={"status": IncidentStatus.RESOLVED, "tick": 20}))
    tracker.update_status(mine)
    assert tracker.active() == []


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


# --- fault-type classifier -----------------------------------------------------------------------


class FixedType:
    """A classifier stand-in that always answers the same type."""

    def classify(self, root, anomalous, graph, *more):
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


def textbook(fault_type: str, root: str, graph: TopologyGraph) -> dict[str, set[str]]:
    """What the learned profile of ``fault_type`` says usually shows: its KPIs seen in most episodes."""
    (profile,) = [p for p in shipped_profiles().profiles if p.fault_type == fault_type]
    cell_kpis = {k for k, p in profile.reach.get(EntityKind.CELL, {}).items() if p >= 0.5}
    return {root: {k for k, p in profile.root.items() if p >= 0.5},
            **({c: cell_kpis for c in graph.cells_of(root)} if cell_kpis else {})}


@pytest.mark.parametrize("fault_type", ["cell_outage", "interference", "handover_failure", "link_down"])
def test_the_shipped_classifier_types_a_textbook_case_of_each_learned_profile(graph, fault_type):
    root = "link-0002" if fault_type == "link_down" else "cell-0002-1"
    case = textbook(fault_type, root, graph)
    dark = set(case) if fault_type in ("cell_outage", "link_down") else set()  # they carry nothing
    assert shipped_classifier().classify(root, case, graph, None, dark)[0] == fault_type


def test_every_fault_type_was_learned_with_symptoms_on_its_root():
    profiles = shipped_profiles().profiles
    assert len({p.fault_type for p in profiles}) == 10
    assert all(max(p.root.values()) >= 0.5 for p in profiles)


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


# --- evidence with every candidate ----------------------------------------------------------------


def amf_fault(tracker: IncidentTracker, ticks: range, kpis: dict[str, tuple[float, float]]) -> list:
    """The AMF and every cell it serves anomalous over ``ticks``: KPI → (value, baseline) on the AMF."""
    opened = []
    for tick in ticks:
        for kpi, (value, expected) in kpis.items():
            tracker.observe(AnomalyEvent(entity_id="amf-1", kpi=kpi, tick=tick, value=value,
                                         expected=expected, score=12.0, detector="test"))
        for c in tracker.graph.reach("amf-1"):
            if c.startswith("cell"):
                observe(tracker, tick, c, ("handover_success_ratio",))
        opened += tracker.close_tick(tick)
    return opened


def test_two_faults_in_sequence_on_one_nf_each_explain_themselves_with_their_own_window_only(graph):
    from actuators import PolicyTable, plan

    tracker = IncidentTracker(graph=graph)
    (first,) = amf_fault(tracker, range(100, 110), {"error_rate_ratio": (0.3, 0.01), LAT: (140.0, 20.0)})
    tracker.update_status(first.model_copy(update={"status": IncidentStatus.RESOLVED}))
    for tick in range(110, 230):
        assert tracker.close_tick(tick) == []
    (second,) = amf_fault(tracker, range(230, 236), {LAT: (95.0, 20.0)})
    assert second.candidates[0].entity_id == "amf-1"
    ev = second.candidates[0].evidence
    assert ev and all(e.tick >= 230 for e in ev)
    assert ("amf-1", "error_rate_ratio") not in {(e.entity_id, e.kpi) for e in ev}
    assert [(e.value, e.expected) for e in ev if e.entity_id == "amf-1"] == [(95.0, 20.0)]
    decision = plan(second, PolicyTable.default()).decision
    assert decision.evidence == ev
    assert "from tick 230" in decision.explanation and "0.3" not in decision.explanation
    assert {(e.entity_id, e.kpi) for e in first.candidates[0].evidence} >= {("amf-1", "error_rate_ratio")}


def test_the_evidence_of_a_candidate_names_the_tick_its_anomaly_began_not_its_strongest_tick(graph):
    tracker = IncidentTracker(graph=graph)
    opened = []
    for tick, score in ((760, 7.0), (761, 30.0), (762, 9.0)):
        for kpi in OUTAGE[1]:
            tracker.observe(AnomalyEvent(entity_id=OUTAGE[0], kpi=kpi, tick=tick, value=0.0, expected=1.0,
                                         score=score, detector="test"))
        opened += tracker.close_tick(tick)
    (incident,) = opened
    assert incident.opened_tick == 761
    assert {(e.tick, e.score) for e in incident.candidates[0].evidence} == {(760, 30.0)}


class ByDrops:
    """A classifier stand-in: a handover drop with drops is a handover failure, without them a tilt."""

    def classify(self, root, anomalous, graph, alarms=None, dark=frozenset(), unremedied=frozenset()):
        drops = "drop_rate_ratio" in anomalous.get(root, ())
        return ("handover_failure" if drops else "antenna_misconfig"), 0.9


class ByAlarms:
    """A classifier stand-in: an equipment alarm on the root is failed hardware, else an outage."""

    def classify(self, root, anomalous, graph, alarms=None, dark=frozenset(), unremedied=frozenset()):
        return ("hardware_failure" if "equipment" in (alarms or {}).get(root, ()) else "cell_outage"), 0.9


def equipment(entity: str, tick: int, *, cleared: bool = False) -> AlarmEvent:
    return AlarmEvent(alarm_id=f"AL-{entity}", entity_id=entity, tick=tick, text="radio unit hardware fault",
                      probable_cause="equipment", cleared=cleared)


def test_an_untouched_incident_is_typed_again_when_an_alarm_is_raised_on_its_root(graph):
    tracker = IncidentTracker(graph=graph, classifier=ByAlarms())
    anomalies_at(tracker, 10)
    (opened,) = anomalies_at(tracker, 11)
    assert opened.fault_type == "cell_outage"
    tracker.alarm(equipment(OUTAGE[0], 12))
    (again,) = anomalies_at(tracker, 12)
    assert again.incident_id == opened.incident_id and again.fault_type == "hardware_failure"
    assert "alarms on cell-0001-1" in again.reason


def test_an_alarm_no_incident_explains_opens_one_on_its_entity_after_a_few_ticks_and_only_once(graph):
    tracker = IncidentTracker(graph=graph, classifier=ByAlarms())
    tracker.alarm(equipment("cell-0002-2", 20))
    assert [tracker.close_tick(t) for t in (20, 21, 22)] == [[], [], []]
    (opened,) = tracker.close_tick(23)
    assert opened.candidates[0].entity_id == "cell-0002-2" and opened.fault_type == "hardware_failure"
    tracker.update_status(opened.model_copy(update={"status": IncidentStatus.ESCALATED, "tick": 23}))
    assert all(tracker.close_tick(t) == [] for t in range(24, 40))  # the alarm stands: heeded already


def test_an_alarm_on_the_root_of_an_incident_in_hand_opens_nothing_more(graph):
    tracker = IncidentTracker(graph=graph, classifier=ByAlarms())
    anomalies_at(tracker, 10)
    anomalies_at(tracker, 11)
    tracker.alarm(equipment(OUTAGE[0], 11))
    assert all(len(tracker.close_tick(t)) <= 1 for t in range(12, 20))
    assert len(tracker.active()) == 1


HANDOVER = ("handover_success_ratio",)


def test_an_untouched_incident_is_typed_again_when_its_root_shows_more_of_its_fault(graph):
    tracker = IncidentTracker(graph=graph, classifier=ByDrops())
    cell = "cell-0001-1"
    assert anomalies_at(tracker, 10, cell, HANDOVER) == anomalies_at(tracker, 11, cell, HANDOVER) == []
    (opened,) = anomalies_at(tracker, 12, cell, HANDOVER)  # one anomaly, three ticks: corroborated
    assert opened.fault_type == "antenna_misconfig"
    assert anomalies_at(tracker, 13, cell, (*HANDOVER, "drop_rate_ratio")) == []
    (again,) = anomalies_at(tracker, 14, cell, (*HANDOVER, "drop_rate_ratio"))
    assert again.incident_id == opened.incident_id and again.status is IncidentStatus.OPEN
    assert again.fault_type == again.candidates[0].fault_type == "handover_failure"
    assert "typed again" in again.reason and again.tick == 14


def test_an_incident_already_acted_on_keeps_its_type(graph):
    tracker = IncidentTracker(graph=graph, classifier=ByDrops())
    cell = "cell-0001-1"
    for tick in (10, 11):
        anomalies_at(tracker, tick, cell, HANDOVER)
    (opened,) = anomalies_at(tracker, 12, cell, HANDOVER)
    tracker.update_status(opened.model_copy(update={"status": IncidentStatus.MITIGATING}))
    for tick in (13, 14, 15):
        assert anomalies_at(tracker, tick, cell, (*HANDOVER, "drop_rate_ratio")) == []


def test_a_link_losing_all_it_carries_is_typed_down_though_its_utilisation_was_not_flagged(graph):
    link, behind = "link-0001", cells(1)
    seen = {c: {"latency_ms", "packet_loss_ratio", "throughput_mbps"} for c in behind}
    lossy = {link: {"packet_loss_ratio"}, **seen}
    down = shipped_classifier().classify(link, lossy, graph, None, {link, *behind})
    slow = shipped_classifier().classify(link, {link: {"packet_loss_ratio", "latency_ms"}, **seen}, graph)
    assert (down[0], slow[0]) == ("link_down", "link_degradation")


def test_a_type_no_policy_remedies_is_named_only_when_the_classifier_is_sure_of_it(graph):
    cell = "cell-0001-1"
    dark = {cell: set(OUTAGE[1])}
    X = np.stack([signature_features(cell, dark, graph)] * 4)
    either = FaultTypeClassifier().fit(X, ["cell_outage", "hardware_failure"] * 2)  # a coin flip
    assert either.classify(cell, dark, graph, unremedied={"hardware_failure"})[0] == "cell_outage"
    assert either.classify(cell, dark, graph, unremedied={"cell_outage"})[0] == "hardware_failure"


def test_the_alarm_families_that_announce_a_type_are_learned_and_type_a_root_with_no_anomaly_yet(graph):
    clf = shipped_classifier()
    link, cell = "link-0002", "cell-0002-1"
    assert clf.classify(link, {}, graph, {link: {"communications"}})[0] == "link_down"
    assert clf.classify(cell, {}, graph, {cell: {"equipment"}}, unremedied={"hardware_failure"})[0] == (
        "hardware_failure")
    radio = {cell: {"bler_ratio", "throughput_mbps"}}  # failed hardware looks like interference
    assert clf.classify(cell, radio, graph, unremedied={"hardware_failure"})[0] == "interference"
    assert clf.classify(cell, radio, graph, {cell: {"equipment"}}, unremedied={"hardware_failure"})[0] == (
        "hardware_failure")
