"""Verification that reads the telemetry: a fault the detectors went quiet on is not resolved, and one
that comes back after a fix opens a new incident."""

from __future__ import annotations

import asyncio

from actuators import Verifier, effect_model
from actuators.history import TelemetryHistory
from actuators.relapse import Symptom, showing, symptoms_of
from schemas import (
    ActionResult,
    Candidate,
    DecisionKind,
    EntityKind,
    Evidence,
    Incident,
    IncidentStatus,
    TelemetryFrame,
    ToolCall,
    kpi_names,
)

HEALTHY = {"utilization_ratio": 0.5, "latency_ms": 3.0, "packet_loss_ratio": 0.0005}
FAULTY = {"utilization_ratio": 0.5, "latency_ms": 24.0, "packet_loss_ratio": 0.02}


def frame(tick: int, kpis: dict[str, float]) -> bytes:
    names = kpi_names(EntityKind.LINK)
    return TelemetryFrame(shard="s1", tick=tick, timestamp_s=60.0 * tick, kind=EntityKind.LINK,
                          entity_ids=["link-0003"], kpis=list(names),
                          values=[[kpis[k] for k in names]]).encode()


def evidence(kpi: str, tick: int = 10) -> Evidence:
    return Evidence(entity_id="link-0003", kpi=kpi, tick=tick, value=FAULTY[kpi], expected=HEALTHY[kpi],
                    score=1.0)


def link_incident(tick: int = 10) -> Incident:
    cand = Candidate(entity_id="link-0003", score=1.0, fault_type="link_degradation", explained=1,
                     evidence=[evidence("latency_ms"), evidence("packet_loss_ratio"),
                               evidence("utilization_ratio")])
    return Incident(incident_id=f"INC-{tick}-link-0003", status=IncidentStatus.OPEN, opened_tick=tick,
                    tick=tick, fault_type="link_degradation", confidence=0.9, candidates=[cand],
                    symptoms=["link-0003"])


def fed(v: Verifier, ticks: range, kpis: dict[str, float]) -> None:
    for t in ticks:
        v.observe_frame(frame(t, kpis))


def result(inc: Incident, tick: int) -> ActionResult:
    undo = ToolCall(tool="rollback_change", target="link-0003", arguments={"target_id": "link-0003"})
    return ActionResult(action_id=f"{inc.incident_id}/0", incident_id=inc.incident_id, tick=tick,
                        tool="reroute_link", target="link-0003", ok=True, detail="done", compensation=[undo])


def test_only_service_kpis_and_demand_gone_dark_are_an_incidents_symptoms():
    kept = {s.kpi for s in symptoms_of(link_incident())}
    assert kept == {"latency_ms", "packet_loss_ratio"}  # utilisation is demand, and it did not go dark
    dark = Evidence(entity_id="link-0003", kpi="utilization_ratio", tick=10, value=0.0, expected=0.5,
                    score=1.0)
    inc = link_incident()
    inc.candidates[0].evidence.append(dark)
    assert "utilization_ratio" in {s.kpi for s in symptoms_of(inc)}


def test_a_symptom_shows_in_most_of_the_recent_ticks_or_not_at_all():
    h = TelemetryHistory(ticks=8)
    symptoms = (Symptom("link-0003", "latency_ms", 3.0, 24.0),)
    for t, kpis in enumerate([HEALTHY, FAULTY, HEALTHY, FAULTY]):
        h.add(frame(t, kpis))
    assert showing(symptoms, h, 3, need=2, of_last=4)
    assert not showing(symptoms, h, 3, need=3, of_last=4)
    assert not showing(symptoms, h, 30, need=2, of_last=4)  # nothing fresh: it says nothing about now


def test_an_incident_whose_telemetry_still_shows_the_fault_is_not_resolved_when_the_detectors_go_quiet():
    v = Verifier(recovery_ticks=4)
    inc = link_incident()
    v.track(inc)
    fed(v, range(0, 10), HEALTHY)
    fed(v, range(10, 30), FAULTY)  # no anomaly events at all: the detectors' yardstick grew
    assert [i for i in v.on_tick(29) if i.incident_id == inc.incident_id] == []
    fed(v, range(30, 34), HEALTHY)
    (done,) = v.on_tick(33)
    assert done.status is IncidentStatus.RESOLVED


def fixed(v: Verifier) -> Incident:
    """An incident acted on at tick 11 and resolved at tick 15 (its KPIs back at their baselines)."""
    inc = link_incident()
    v.track(inc)
    v.acted(result(inc, tick=11))
    fed(v, range(11, 16), HEALTHY)
    (done,) = v.on_tick(15)
    assert done.status is IncidentStatus.RESOLVED
    return inc


def test_a_fixed_root_whose_symptoms_come_back_opens_a_new_incident_with_its_root_and_type():
    v = Verifier(recovery_ticks=4, relapse_ticks=150)
    inc = fixed(v)
    fed(v, range(16, 80), HEALTHY)
    assert v.on_tick(79) == []
    fed(v, range(80, 83), FAULTY)
    (again,) = v.on_tick(82)
    assert again.status is IncidentStatus.OPEN and again.incident_id != inc.incident_id
    assert again.candidates[0].entity_id == "link-0003" and again.fault_type == "link_degradation"
    assert {e.expected for e in again.candidates[0].evidence} == {3.0, 0.0005}  # the old baselines
    assert "back" in again.reason and inc.incident_id in again.reason


def test_symptoms_that_come_back_after_the_watch_has_ended_open_nothing_here():
    v = Verifier(recovery_ticks=4, relapse_ticks=20)
    fixed(v)
    fed(v, range(16, 40), HEALTHY)
    v.on_tick(39)
    fed(v, range(40, 44), FAULTY)
    assert v.on_tick(43) == []


def test_an_incident_resolved_without_an_action_is_not_watched_for_a_relapse():
    v = Verifier(recovery_ticks=4)
    inc = link_incident()
    v.track(inc)
    fed(v, range(10, 15), HEALTHY)
    (done,) = v.on_tick(14)
    assert done.status is IncidentStatus.RESOLVED
    fed(v, range(15, 40), FAULTY)
    assert v.on_tick(39) == []


def test_the_verify_stage_reads_telemetry_and_judges_an_alarm_when_the_tick_closes():
    from schemas import AlarmEvent, topics
    from streams.runtime.bus import Message
    from streams.runtime.stages import VerifyStage

    stage = VerifyStage(Verifier(recovery_ticks=4))
    inc = link_incident()
    alarm = AlarmEvent(alarm_id="AL-1", entity_id="link-0003", tick=12, text="line card hardware fault",
                       probable_cause="equipment")

    async def run() -> tuple[list, list]:
        await stage.handle(Message(topics.INCIDENTS, inc.incident_id, inc.encode(), 0))
        for t in range(10, 13):
            await stage.handle(Message(topics.TELEMETRY, "s1", frame(t, FAULTY), t))
        handled = await stage.handle(Message(topics.ALARMS, "link-0003", alarm.encode(), 1))
        return handled, await stage.on_tick(12)

    handled, closed = asyncio.run(run())
    assert handled == []  # the localizer types the incident again by the alarm first
    [(_, _, record), *_] = [o for o in closed if isinstance(o[2], Incident)]
    assert record.status is IncidentStatus.ESCALATED and "hardware" in record.reason
    assert stage.verifier.telemetry is not None
    ticks, _ = stage.verifier.telemetry.series(["link-0003"])["link-0003"]
    assert ticks.tolist() == [10, 11, 12]


def test_a_reroute_is_reverted_once_its_link_has_stayed_healthy_for_the_wait_to_restore_time():
    v = Verifier(recovery_ticks=4, effects=effect_model())  # reroute_link: revert after 30 ticks
    inc = fixed(v)
    v.drain()
    fed(v, range(16, 45), HEALTHY)
    assert v.on_tick(44) == [] and v.drain() == []
    fed(v, range(45, 46), HEALTHY)
    v.on_tick(45)
    record, request = v.drain()
    assert record.decision is DecisionKind.ROLLBACK and "reverted" in record.outcome
    assert request.action_id == f"{inc.incident_id}/0#rollback" and request.tool == "rollback_change"
    fed(v, range(46, 80), HEALTHY)
    assert v.on_tick(79) == [] and v.drain() == []  # once
    fed(v, range(80, 83), FAULTY)
    (again,) = v.on_tick(82)  # still watched: the fault coming back reopens it
    assert again.candidates[0].entity_id == "link-0003"


def test_a_fault_back_before_the_wait_to_restore_time_keeps_its_workaround_and_reopens():
    v = Verifier(recovery_ticks=4, effects=effect_model())
    fixed(v)
    v.drain()
    fed(v, range(16, 30), FAULTY)
    (again,) = v.on_tick(29)
    assert again.status is IncidentStatus.OPEN
    fed(v, range(30, 60), HEALTHY)
    v.on_tick(59)
    assert not [r for r in v.drain() if getattr(r, "decision", None) is DecisionKind.ROLLBACK]
