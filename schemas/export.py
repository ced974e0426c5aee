"""JSON Schemas of the records on each topic, for dashboards and consumers in any language."""

from __future__ import annotations

import functools
import json
import operator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas import topics
from schemas.events import (
    ActionRequest,
    ActionResult,
    AnomalyEvent,
    DeadLetter,
    DecisionRecord,
    Incident,
)
from schemas.notices import AlarmEvent, MaintenanceWindow
from schemas.telemetry import TelemetryFrame, TelemetryReport, TickMark
from schemas.topology import TopologyEntity

RECORDS: dict[str, tuple[type[BaseModel], ...]] = {
    topics.TOPOLOGY: (TopologyEntity,),
    topics.TELEMETRY: (TelemetryFrame, TelemetryReport, TickMark),
    topics.ANOMALIES: (AnomalyEvent, TickMark),
    topics.INCIDENTS: (Incident,),
    topics.ACTIONS: (ActionRequest,),
    topics.ACTION_RESULTS: (ActionResult,),
    topics.DECISIONS: (DecisionRecord,),
    topics.DLQ: (DeadLetter,),
    topics.MAINTENANCE: (MaintenanceWindow,),
    topics.ALARMS: (AlarmEvent,),
}


def topic_schema(topic: str) -> dict[str, Any]:
    """The JSON Schema of the records on ``topic`` (``anyOf`` where a topic takes several).

    Definitions shared by the records sit in one top-level ``$defs``, so every
    ``$ref`` resolves from the document root.
    """
    models = RECORDS[topic]
    union = models[0] if len(models) == 1 else functools.reduce(operator.or_, models)
    schema = TypeAdapter(union).json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{topic}.schema.json",
            "title": topic, **schema}


def export_schemas(folder: Path) -> list[Path]:
    """Write ``<topic>.schema.json`` for every topic of the catalogue into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for topic in topics.ALL_TOPICS:
        path = folder / f"{topic}.schema.json"
        path.write_text(json.dumps(topic_schema(topic), indent=2) + "\n")
        written.append(path)
    return written
