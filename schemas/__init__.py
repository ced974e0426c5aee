"""Records on the bus, the topic catalogue and the KPI catalogue.

Every record is a pydantic v2 model with ``schema_version``; produced records
forbid unknown fields, :meth:`Record.decode` tolerates them. Topic names live in
:mod:`schemas.topics` and nowhere else.
"""

from schemas import topics
from schemas.base import SCHEMA_VERSION, Record
from schemas.events import (
    ActionRequest,
    ActionResult,
    AnomalyEvent,
    Candidate,
    DeadLetter,
    DecisionKind,
    DecisionRecord,
    Evidence,
    GuardVerdict,
    Incident,
    IncidentStatus,
    ToolArgument,
    ToolCall,
    TwinPrediction,
)
from schemas.export import export_schemas, topic_schema
from schemas.kpis import (
    KPIS_BY_KIND,
    OBSERVABLE_KINDS,
    Direction,
    EntityKind,
    Kpi,
    kind_of,
    kpi_names,
)
from schemas.notices import AlarmEvent, MaintenanceWindow
from schemas.protocol import ACTION_ID_META
from schemas.telemetry import MAX_ABS_VALUE, TelemetryFrame, TelemetryReport, TickMark
from schemas.topology import TopologyEntity

__all__ = [
    "ACTION_ID_META",
    "KPIS_BY_KIND",
    "MAX_ABS_VALUE",
    "OBSERVABLE_KINDS",
    "SCHEMA_VERSION",
    "ActionRequest",
    "ActionResult",
    "AlarmEvent",
    "AnomalyEvent",
    "Candidate",
    "DeadLetter",
    "DecisionKind",
    "DecisionRecord",
    "Direction",
    "EntityKind",
    "Evidence",
    "GuardVerdict",
    "Incident",
    "IncidentStatus",
    "Kpi",
    "MaintenanceWindow",
    "Record",
    "TelemetryFrame",
    "TelemetryReport",
    "TickMark",
    "ToolArgument",
    "ToolCall",
    "TopologyEntity",
    "TwinPrediction",
    "export_schemas",
    "kind_of",
    "kpi_names",
    "topic_schema",
    "topics",
]
