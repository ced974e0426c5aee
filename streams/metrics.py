"""Prometheus metrics of the loop, on an injected registry (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class LoopMetrics:
    """The loop's metrics. Labels are bounded: stage, reason, outcome — never an entity id."""

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
        self.incidents_open = Gauge("netloop_incidents_open", "Incidents open or mitigating",
                                    registry=r)
        self.actions = Counter("netloop_actions_total", "Actions executed, by outcome", ["outcome"],
                               registry=r)
