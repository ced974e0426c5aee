"""Deciding with what the network announced: hardware alarms, maintenance, incidents further up."""

from __future__ import annotations

from actuators import Decider, Inventory, PolicyTable, Verifier
from detectors import shipped_profiles
from schemas import (
    AlarmEvent,
    AnomalyEvent,
    Candidate,
    DecisionKind,
    EntityKind,
    Incident,
    IncidentStatus,
    MaintenanceWindow,
    TopologyEntity,
    TwinPrediction,
)
from streams.runtime.embedded import learned_reach


def inventory() -> Inventory:
    inv = Inventory()
    for e in (
        TopologyEntity(entity_id="smf-1", kind=EntityKind.SMF),
        TopologyEntity(entity_id="link-0001", kind=EntityKind.LINK, site="site-0001", depends_on=["smf-1"]),
        TopologyEntity(entity_id="gnb-0001", kind=EntityKind.GNB, site="site-0001", depends_on=["link-0001"]),
        *(
            TopologyEntity(
                entity_id=f"cell-0001-{k}", kind=EntityKind.CELL, site="site-0001", depends_on=["gnb-0001"]
            )
            for k in (1, 2, 3)
        ),
    ):
        inv.add(e)
    return inv


def incident(root: str, fault_type: str, *, tick: int = 50, symptoms: tuple[str, ...] = ()) -> Incident:
    cand = Candidate(entity_id=root, score=1.0, fault_type=fault_type, explained=1)
    return Incident(
        incident_id=f"INC-{tick}-{root}",
        status=IncidentStatus.OPEN,
        opened_tick=tick,
        tick=tick,
        fault_type=fault_type,
        confidence=0.9,
        candidates=[cand],
        symptoms=list(symptoms or (root,)),
    )


def hardware(alarm_id: str, entity: str, tick: int, text: str) -> AlarmEvent:
    return AlarmEvent(alarm_id=alarm_id, entity_id=entity, tick=tick, text=text, probable_cause="equipment")


def decider() -> Decider:
    return Decider(PolicyTable.default(), inventory=inventory(), reaches=learned_reach(shipped_profiles()))


def test_a_hardware_alarm_on_the_root_escalates_at_once_without_trying_a_tool():
    d = decider()
    d.inventory.alarm(hardware("AL-1", "cell-0001-2", 48, "radio unit hardware fault"))
    [record] = d.decide(incident("cell-0001-2", "cell_outage"))
    assert record.decision is DecisionKind.ESCALATE and "hardware" in record.explanation
    v = Verifier()
    v.track(incident("cell-0001-2", "cell_outage"))
    assert v.decided(record).status is IncidentStatus.ESCALATED


def test_an_alarm_that_is_not_about_hardware_does_not_stop_a_fix():
    d = decider()
    d.inventory.alarm(
        AlarmEvent(
            alarm_id="AL-1",
            entity_id="cell-0001-2",
            tick=48,
            text="cell disabled",
            probable_cause="processing",
        )
    )
    decision, action = d.decide(incident("cell-0001-2", "cell_outage"))
    assert decision.decision is DecisionKind.ACT and action.tool == "restart_cell"


def test_a_hardware_alarm_arriving_while_an_incident_is_watched_escalates_it():
    v = Verifier()
    inc = incident("upf-1", "upf_overload")
    v.track(inc)
    [closed] = v.alarm(
        AlarmEvent(
            alarm_id="AL-2",
            entity_id="upf-1",
            tick=52,
            text="blade hardware fault",
            probable_cause="equipment",
        )
    )
    assert closed.status is IncidentStatus.ESCALATED and "hardware" in closed.reason


def test_symptoms_under_an_upstream_hardware_alarm_are_held_not_fixed():
    d = decider()
    d.inventory.alarm(hardware("AL-3", "smf-1", 45, "blade hardware fault"))
    [held] = d.decide(incident("cell-0001-3", "handover_failure"))
    assert held.decision is DecisionKind.HOLD and "smf-1" in held.explanation


def test_planned_maintenance_holds_the_incident_and_it_is_looked_at_again_after_the_window():
    d = decider()
    d.inventory.announce(
        MaintenanceWindow(
            window_id="MW-1", entity_id="site-0001", start_tick=45, end_tick=60, announced_tick=0
        )
    )
    [held] = d.decide(incident("cell-0001-1", "cell_outage"))
    assert held.decision is DecisionKind.HOLD and "MW-1" in held.explanation
    assert d.on_tick(55) == []
    after = d.on_tick(63)  # the window ended at 60, three ticks of grace: still down, so it is a fault
    assert after[0].decision is DecisionKind.ACT and after[1].tool == "restart_cell"


def test_a_cell_incident_under_a_live_incident_on_what_it_depends_on_waits_for_that_one():
    d = decider()
    d.decide(incident("smf-1", "smf_session_failure", tick=48))
    [held] = d.decide(incident("cell-0001-1", "handover_failure"))
    assert held.decision is DecisionKind.HOLD and "smf-1" in held.explanation


def test_a_burst_of_look_alike_incidents_waits_a_few_ticks_for_the_fault_further_up():
    d = decider()
    incidents = [incident(f"cell-0001-{k}", "handover_failure") for k in (1, 2, 3)]
    for inc in incidents:
        d.observe(
            AnomalyEvent(
                entity_id=inc.candidates[0].entity_id,
                kpi="drop_rate_ratio",
                tick=50,
                value=0.05,
                expected=0.005,
                score=20.0,
                detector="test",
            )
        )
        d.note(inc)
    decisions = [r for inc in incidents for r in d.decide(inc)]
    assert [r.decision for r in decisions] == [DecisionKind.HOLD] * 3
    assert all("same symptoms" in r.explanation for r in decisions)


def anomaly(entity: str, kpi: str, tick: int) -> AnomalyEvent:
    return AnomalyEvent(entity_id=entity, kpi=kpi, tick=tick, value=0.05, expected=0.005, score=20.0,
                        detector="test")


def test_a_lone_cell_showing_what_an_nf_fault_in_play_does_to_cells_waits_though_the_edge_is_missing():
    d = decider()
    d.inventory.add(TopologyEntity(entity_id="smf-2", kind=EntityKind.SMF))
    d.inventory.add(TopologyEntity(entity_id="cell-0002-1", kind=EntityKind.CELL, site="site-0002",
                                   depends_on=["smf-2"]))  # published wrong: it is behind smf-1
    d.decide(incident("smf-1", "smf_session_failure", tick=48))
    d.observe(anomaly("cell-0002-1", "drop_rate_ratio", 50))
    [held] = d.decide(incident("cell-0002-1", "handover_failure"))
    assert held.decision is DecisionKind.HOLD
    assert "smf-1" in held.explanation and "cells behind" in held.explanation


def test_a_lone_cell_with_symptoms_the_nf_fault_does_not_cause_is_fixed_at_once():
    d = decider()
    d.inventory.add(TopologyEntity(entity_id="cell-0002-1", kind=EntityKind.CELL, site="site-0002"))
    d.decide(incident("smf-1", "smf_session_failure", tick=48))
    for kpi in ("cqi", "bler_ratio"):
        d.observe(anomaly("cell-0002-1", kpi, 50))
    decision, action = d.decide(incident("cell-0002-1", "interference"))
    assert decision.decision is DecisionKind.ACT and action.tool == "retune_frequency"


class NothingToFix:
    """A twin that sees nothing the tool would restore until ``degraded_from``."""

    def __init__(self, degraded_from: int) -> None:
        self.degraded_from = degraded_from

    def predict(self, call, *, incident, horizon):
        return TwinPrediction(horizon_ticks=horizon, watched=1, badness_without=10.0, badness_with=0.0,
                              improvement=10.0, improves=True, p_improves=0.9,
                              degraded=incident.tick >= self.degraded_from)


def test_an_incident_held_an_hour_with_nothing_to_fix_goes_to_a_person_instead_of_being_acted_on_late():
    d = Decider(PolicyTable.default(), inventory=inventory(), twin=NothingToFix(degraded_from=200))
    [held] = d.decide(incident("cell-0001-1", "cell_congestion"))
    assert held.decision is DecisionKind.HOLD and held.outcome == "held: nothing to fix"
    later = [r for t in range(51, 260) for r in d.on_tick(t)]  # the twin would see harm from tick 200
    assert [r.decision for r in later] == [DecisionKind.ESCALATE]  # at tick 110: 60 ticks held
    assert later[0].tick == 110 and "60 ticks old" in later[0].explanation


def test_an_incident_held_briefly_with_nothing_to_fix_is_acted_on_once_the_twin_sees_harm():
    d = Decider(PolicyTable.default(), inventory=inventory(), twin=NothingToFix(degraded_from=70))
    d.decide(incident("cell-0001-1", "cell_congestion"))
    later = [r for t in range(51, 90) for r in d.on_tick(t)]
    assert later[0].decision is DecisionKind.ACT and later[0].tick == 70


class UnsureOf:
    """A twin unsure (0.4) that ``tool`` helps, and sure (0.9) of any other."""

    def __init__(self, tool: str) -> None:
        self.tool = tool

    def predict(self, call, *, incident, horizon):
        p = 0.4 if call.tool == self.tool else 0.9
        return TwinPrediction(horizon_ticks=horizon, watched=1, badness_without=10.0, badness_with=1.0,
                              improvement=9.0, improves=p >= 0.5, p_improves=p)


def test_an_incident_typed_again_before_anything_was_done_is_judged_again_as_its_new_type():
    d = Decider(PolicyTable.default(), inventory=inventory(), twin=UnsureOf("set_antenna_tilt"))
    first = incident("cell-0001-1", "antenna_misconfig")
    [asked] = d.decide(first)
    assert asked.decision is DecisionKind.APPROVAL
    again = first.model_copy(update={"tick": 53, "fault_type": "handover_failure", "reason": "typed again",
                                     "candidates": [first.candidates[0].model_copy(
                                         update={"fault_type": "handover_failure"})]})
    decision, action = d.decide(again)
    assert decision.decision is DecisionKind.ACT and action.tool == "reset_neighbour_relations"
    assert decision.explanation.startswith("typed again")
    assert d.on_tick(100) == []  # the approval asked for the old type is gone, not answered later
    assert d.decide(again) == []  # the same version twice is decided once


def three_sites_behind_one_upf() -> Inventory:
    inv = Inventory()
    inv.add(TopologyEntity(entity_id="upf-1", kind=EntityKind.UPF))
    for s in (1, 2, 3):
        inv.add(TopologyEntity(entity_id=f"link-000{s}", kind=EntityKind.LINK, site=f"site-000{s}",
                               depends_on=["upf-1"]))
        inv.add(TopologyEntity(entity_id=f"gnb-000{s}", kind=EntityKind.GNB, site=f"site-000{s}",
                               depends_on=[f"link-000{s}"]))
        inv.add(TopologyEntity(entity_id=f"cell-000{s}-1", kind=EntityKind.CELL, site=f"site-000{s}",
                               depends_on=[f"gnb-000{s}"]))
    return inv


def test_lone_cells_on_several_sites_with_one_symptom_wait_for_what_they_share_then_go_to_a_person():
    d = Decider(PolicyTable.default(), inventory=three_sites_behind_one_upf())
    incidents = [incident(f"cell-000{s}-1", "cell_congestion") for s in (1, 2, 3)]
    for inc in incidents:
        d.observe(anomaly(inc.candidates[0].entity_id, "latency_ms", 50))
        d.note(inc)
    first = [r for inc in incidents for r in d.decide(inc)]
    assert [r.decision for r in first] == [DecisionKind.HOLD] * 3  # a burst first, then what they share
    later = []
    for t in range(51, 80):  # the cells stay as they are
        for inc in incidents:
            d.observe(anomaly(inc.candidates[0].entity_id, "latency_ms", t))
        later += d.on_tick(t)
    assert "upf-1" in later[0].explanation and later[0].outcome == "held: shared upstream"
    assert DecisionKind.ACT not in [r.decision for r in later]
    assert [r.decision for r in later if r.decision is not DecisionKind.HOLD] == [DecisionKind.ESCALATE] * 3


def test_a_link_is_not_held_for_an_nf_incident_above_it_whose_fault_does_not_reach_links():
    d = decider()
    d.decide(incident("smf-1", "smf_session_failure", tick=48))
    for kpi in ("latency_ms", "packet_loss_ratio"):
        d.observe(anomaly("link-0001", kpi, 50))
    decision, action = d.decide(incident("link-0001", "link_degradation"))
    assert decision.decision is DecisionKind.ACT and action.tool == "reroute_link"


def test_a_cell_is_held_for_an_nf_incident_above_it_whose_fault_shows_on_its_cells():
    d = decider()
    d.decide(incident("smf-1", "smf_session_failure", tick=48))
    d.observe(anomaly("cell-0001-1", "drop_rate_ratio", 50))
    [held] = d.decide(incident("cell-0001-1", "handover_failure"))
    assert held.decision is DecisionKind.HOLD and "rooted on smf-1" in held.explanation


def test_an_incident_that_moved_on_to_its_second_candidate_still_holds_what_lies_below_its_first():
    d = decider()
    link = incident("link-0001", "link_down", tick=48)
    cell = Candidate(entity_id="cell-0001-2", score=0.5, fault_type="antenna_misconfig", explained=1)
    moved = link.model_copy(update={"candidates": [*link.candidates, cell], "attempt": 1})
    d.decide(moved)  # verify gave up on the link and tries the cell: the link may still be the fault
    d.observe(anomaly("cell-0001-1", "packet_loss_ratio", 50))
    [held] = d.decide(incident("cell-0001-1", "cell_congestion"))
    assert held.decision is DecisionKind.HOLD and "link-0001" in held.explanation
