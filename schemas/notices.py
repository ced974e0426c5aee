"""What a network announces about itself besides telemetry: its maintenance calendar and its alarms."""

from __future__ import annotations

from pydantic import Field

from schemas import topics
from schemas.base import Record


class MaintenanceWindow(Record):
    """Planned work on an entity (a cell, a site with everything at it, or a link).

    Announced ahead of ``start_tick``; the entity may go dark from ``start_tick``
    up to ``end_tick`` (exclusive). A loop should not remediate what the work explains.
    """

    topic = topics.MAINTENANCE

    window_id: str
    entity_id: str
    start_tick: int = Field(ge=0)
    end_tick: int = Field(ge=0, description="first tick after the window")
    announced_tick: int = Field(ge=0)
    reason: str = ""


class AlarmEvent(Record):
    """An equipment alarm raised or cleared (fault management, as X.733 describes it).

    ``probable_cause`` is the X.733 family: ``equipment`` (hardware), ``communications``,
    ``processing``, ``environmental``, ``quality-of-service``.
    """

    topic = topics.ALARMS

    alarm_id: str
    entity_id: str
    tick: int = Field(ge=0)
    text: str
    probable_cause: str
    cleared: bool = False
