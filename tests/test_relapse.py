"""Verification that reads the telemetry: a fault the detectors went quiet on is not resolved, and one
that comes back after a fix opens a new incident."""

from __future__ import annotations

from actuators import Verifier
from actuators.history import TelemetryHistory
from actuators.relapse import Symptom, showing, symptoms_of
from schemas import (
    ActionResult,
    Candidate,
    EntityKind,
    Evidence,
    Incident,
    IncidentStatus,
    TelemetryFrame,
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
    return ActionResult(action_id=f"{inc.incident_id}/0", incident_id=inc.incident_id, tick=tick,
                        tool="reroute_link", target="link-0003", ok=True, detail="done")


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
