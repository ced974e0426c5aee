"""Prometheus metrics of the loop, on an injected registry (never the global one)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas import ActionResult, AnomalyEvent, Incident, IncidentStatus, Record

LagKey = tuple[str, str, int]  # (stage, topic, partition)
_LIVE = (IncidentStatus.OPEN, IncidentStatus.MITIGATING)


class LoopMetrics:
    """The loop's metrics. Labels are bounded: stage, reason, outcome, KPI, topic, partition —
    never an entity id."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.records_in = Counter("netloop_stage_records_in_total", "Records a stage consumed",
                                  ["stage"], registry=r)
        self.records_out = Counter("netloop_stage_records_out_total", "Records a stage produced",
                                   ["stage"], registry=r)
        self.dead_letters = Counter("netloop_stage_dead_letters_total",
                                    "Records sent to the dead-letter topic", ["stage", "reason"],
                                    registry=r)
        self.processing = Histogram("netloop_stage_processing_seconds",
                                    "Time a stage spent on one record", ["stage"], registry=r,
                                    buckets=(1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1))
        self.entity_reports = Counter("netloop_detect_entity_reports_total",
                                      "Entity rows of telemetry scored by the detectors", registry=r)
        self.anomalies = Counter("netloop_detect_anomalies_total",
                                 "Anomaly events the detectors emitted, by KPI", ["kpi"], registry=r)
        self.incidents_open = Gauge("netloop_incidents_open",
                                    "Incidents open or mitigating, as written by this process's stages",
                                    registry=r)
        self.repair = Histogram("netloop_incident_repair_ticks",
                                "Ticks from an incident's opening to its resolution (the quiet ticks "
                                "verify waits for included)", registry=r,
                                buckets=(2, 4, 6, 8, 10, 12, 16, 20, 30, 50, 100, 200))
        self.actions = Counter("netloop_actions_total", "Actions executed, by outcome", ["outcome"],
                               registry=r)
        self.consumer_lag = Gauge("netloop_consumer_lag_records",
                                  "Records on an assigned partition that a stage has not handled yet "
                                  "(highwater minus the stage's position)",
                                  ["stage", "topic", "partition"], registry=r)
        self._live: set[str] = set()
        self._lag_keys: set[LagKey] = set()

    def observe_output(self, stage: str, record: Record) -> None:
        """Count one record a stage produced, and what it says about the loop."""
        self.records_out.labels(stage).inc()
        if isinstance(record, AnomalyEvent):
            self.anomalies.labels(record.kpi).inc()
        elif isinstance(record, ActionResult):
            self.actions.labels("ok" if record.ok else "failed").inc()
        elif isinstance(record, Incident):
            self._incident(record)

    def _incident(self, incident: Incident) -> None:
        if incident.status in _LIVE:
            self._live.add(incident.incident_id)
        elif incident.incident_id in self._live:
            self._live.discard(incident.incident_id)
            if incident.status is IncidentStatus.RESOLVED:
                self.repair.observe(incident.tick - incident.opened_tick)
        self.incidents_open.set(len(self._live))

    def set_consumer_lag(self, lag: Mapping[LagKey, int]) -> None:
        """Publish the lag of every (stage, topic, partition) held now; forget those no longer held."""
        for key in self._lag_keys - lag.keys():
            self.consumer_lag.remove(key[0], key[1], str(key[2]))
        for (stage, topic, partition), n in lag.items():
            self.consumer_lag.labels(stage, topic, str(partition)).set(n)
        self._lag_keys = set(lag)
