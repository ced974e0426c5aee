"""The loop's Prometheus metrics, read from a fresh registry."""

from prometheus_client import CollectorRegistry

from schemas import Candidate, Incident, IncidentStatus
from streams.metrics import LoopMetrics


def _incident(status: IncidentStatus, tick: int) -> Incident:
    return Incident(incident_id="INC-000100-link-0003", status=status, opened_tick=100, tick=tick,
                    fault_type="link_down", confidence=0.9,
                    candidates=[Candidate(entity_id="link-0003", score=1.0, explained=3)],
                    symptoms=["link-0003"])


def test_a_resolved_incident_records_its_ticks_to_repair_once_and_leaves_the_open_count():
    registry = CollectorRegistry()
    m = LoopMetrics(registry)
    m.observe_output("localize", _incident(IncidentStatus.OPEN, 100))
    m.observe_output("verify", _incident(IncidentStatus.MITIGATING, 101))
    assert registry.get_sample_value("netloop_incidents_open") == 1
    m.observe_output("verify", _incident(IncidentStatus.RESOLVED, 107))
    m.observe_output("verify", _incident(IncidentStatus.RESOLVED, 107))  # re-delivered
    assert registry.get_sample_value("netloop_incidents_open") == 0
    assert registry.get_sample_value("netloop_incident_repair_ticks_count") == 1
    assert registry.get_sample_value("netloop_incident_repair_ticks_sum") == 7
    assert registry.get_sample_value("netloop_stage_records_out_total", {"stage": "verify"}) == 3


def test_the_lag_of_a_partition_no_longer_held_is_forgotten():
    registry = CollectorRegistry()
    m = LoopMetrics(registry)
    m.set_consumer_lag({("detect", "netloop.telemetry", 0): 3, ("detect", "netloop.telemetry", 1): 8})
    m.set_consumer_lag({("detect", "netloop.telemetry", 1): 2})
    labels = {"stage": "detect", "topic": "netloop.telemetry"}
    assert registry.get_sample_value("netloop_consumer_lag_records", {**labels, "partition": "0"}) is None
    assert registry.get_sample_value("netloop_consumer_lag_records", {**labels, "partition": "1"}) == 2
