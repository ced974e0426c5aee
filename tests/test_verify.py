"""Verification: recovery, retries with the next candidate, escalation, and records delivered again."""

from __future__ import annotations

from actuators import Verifier
from schemas import DecisionKind, DecisionRecord, IncidentStatus
from tests.test_actuators import anomaly, candidate, incident, link_incident, result_of


def verifier() -> Verifier:
    return Verifier(recovery_ticks=4, verify_ticks=12, max_attempts=2)


def anomalies(v: Verifier, entity_id: str, ticks: range) -> None:
    for t in ticks:
        v.observe(anomaly(entity_id, t))


def test_an_incident_resolves_after_recovery_ticks_without_anomalies_and_not_earlier() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    anomalies(v, "cell-0003-1", range(10, 21))
    assert v.on_tick(23) == []
    (done,) = v.on_tick(24)
    assert done.status is IncidentStatus.RESOLVED
    assert done.tick == 24
    assert v.on_tick(30) == []  # closed incidents are no longer watched


def test_anomalies_of_unrelated_entities_do_not_delay_resolution() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    anomalies(v, "cell-0042-1", range(10, 30))
    (done,) = v.on_tick(14)
    assert done.status is IncidentStatus.RESOLVED


def test_the_first_candidate_is_watched_as_well_as_the_symptoms() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    anomalies(v, "link-0003", range(10, 21))
    assert v.on_tick(23) == []


def test_a_successful_action_makes_the_incident_mitigating() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    out = v.acted(result_of(inc, tick=12))
    assert out.status is IncidentStatus.MITIGATING
    assert "reroute_link" in out.reason


def test_no_recovery_after_the_action_moves_on_to_the_second_candidate() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    v.acted(result_of(inc, tick=12))
    anomalies(v, "cell-0003-1", range(10, 25))
    assert v.on_tick(23) == []
    (retry,) = v.on_tick(24)
    assert retry.status is IncidentStatus.OPEN
    assert retry.attempt == 1
    assert "upf-1" in retry.reason


def test_an_incident_is_escalated_when_the_second_attempt_also_fails_to_recover() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    v.acted(result_of(inc, tick=12))
    anomalies(v, "cell-0003-1", range(10, 25))
    (retry,) = v.on_tick(24)
    v.track(retry)
    v.acted(result_of(retry, tick=25))
    anomalies(v, "cell-0003-1", range(25, 38))
    assert v.on_tick(36) == []
    (done,) = v.on_tick(37)
    assert done.status is IncidentStatus.ESCALATED
    assert done.attempt == 1


def test_an_incident_with_one_candidate_is_escalated_when_the_action_does_not_help() -> None:
    v = verifier()
    inc = incident(candidate("link-0003", "link_degradation"), tick=10)
    v.track(inc)
    v.acted(result_of(inc, tick=12))
    anomalies(v, "cell-0003-1", range(10, 25))
    (done,) = v.on_tick(24)
    assert done.status is IncidentStatus.ESCALATED


def test_recovery_after_the_action_resolves_the_incident() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    v.acted(result_of(inc, tick=12))
    anomalies(v, "cell-0003-1", range(10, 14))
    (done,) = v.on_tick(17)
    assert done.status is IncidentStatus.RESOLVED
    assert "reroute_link" in done.reason


def test_a_failed_action_escalates_at_once() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    out = v.acted(result_of(inc, tick=12, ok=False))
    assert out.status is IncidentStatus.ESCALATED
    assert "boom" in out.reason
    assert v.on_tick(100) == []


def test_an_escalation_decided_upstream_closes_the_incident_as_escalated() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    record = DecisionRecord(incident_id="INC-1", tick=11, stage="decide",
                            decision=DecisionKind.ESCALATE, explanation="needs a human")
    out = v.decided(record)
    assert out.status is IncidentStatus.ESCALATED
    assert out.reason == "needs a human"
    assert v.on_tick(100) == []


def test_a_decision_to_act_does_not_close_the_incident() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    record = DecisionRecord(incident_id="INC-1", tick=11, stage="decide",
                            decision=DecisionKind.ACT, explanation="calling reroute_link")
    assert v.decided(record) is None
    anomalies(v, "cell-0003-1", range(10, 21))
    assert v.on_tick(23) == []


def test_results_and_decisions_of_untracked_incidents_are_ignored() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    assert v.acted(result_of(inc, tick=12)) is None
    record = DecisionRecord(incident_id="INC-1", tick=11, stage="decide",
                            decision=DecisionKind.ESCALATE, explanation="needs a human")
    assert v.decided(record) is None


def test_a_result_delivered_again_or_for_an_earlier_attempt_changes_nothing() -> None:
    v = verifier()
    inc = link_incident(tick=10)
    v.track(inc)
    assert v.acted(result_of(inc, tick=12)).status is IncidentStatus.MITIGATING
    assert v.acted(result_of(inc, tick=12)) is None  # the same result, re-delivered
    anomalies(v, "cell-0003-1", range(10, 25))
    (retry,) = v.on_tick(24)
    v.track(retry)
    assert v.acted(result_of(inc, tick=25)) is None  # attempt 0's result, late
    assert v.acted(result_of(retry, tick=25)).status is IncidentStatus.MITIGATING


def test_after_a_restart_a_mitigating_incident_is_judged_from_its_action_tick() -> None:
    v = verifier()
    mitigating = link_incident(tick=10).model_copy(update={"status": IncidentStatus.MITIGATING, "tick": 12,
                                                          "reason": "reroute_link on link-0003"})
    closed = link_incident(tick=5, incident_id="INC-0").model_copy(
        update={"status": IncidentStatus.RESOLVED})
    v.restore([mitigating, closed], {"cell-0003-1": 13})
    v.track(closed.model_copy(update={"status": IncidentStatus.OPEN}))  # an old version, re-delivered
    assert v.on_tick(16) == []  # anomalous until 13: four quiet ticks end at 17
    (done,) = v.on_tick(17)
    assert (done.incident_id, done.status) == ("INC-1", IncidentStatus.RESOLVED)
    assert v.on_tick(40) == []  # INC-0 was closed before the restart and stays closed


def test_one_tick_noise_on_the_incidents_entities_does_not_hold_off_its_resolution() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    anomalies(v, "cell-0003-1", range(10, 13))
    for t in range(13, 30, 2):  # a different KPI or tick each time: never twice running
        v.observe(anomaly("cell-0003-2", t))
    assert v.on_tick(15) == []
    (done,) = v.on_tick(16)  # 4 ticks after the last persistent anomaly (12)
    assert done.status is IncidentStatus.RESOLVED


def test_an_anomaly_that_persists_holds_off_the_resolution() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    anomalies(v, "cell-0003-2", range(10, 20))
    assert v.on_tick(22) == []
    (done,) = v.on_tick(23)
    assert done.status is IncidentStatus.RESOLVED


def test_a_new_incident_rooted_on_a_watched_entity_takes_that_entity_out_of_the_older_watch() -> None:
    v = verifier()
    v.track(link_incident(tick=10))
    v.track(incident(candidate("cell-0003-2", "cell_congestion"), symptoms=("cell-0003-2",),
                     incident_id="INC-2", tick=12))
    anomalies(v, "cell-0003-2", range(12, 30))  # the second fault goes on
    (done,) = v.on_tick(16)
    assert (done.incident_id, done.status) == ("INC-1", IncidentStatus.RESOLVED)
