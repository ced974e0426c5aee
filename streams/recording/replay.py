"""Replaying a recording through the loop without acting: what would the loop have done?

The recording's topology, calendar, alarms and telemetry are fed to the same
stages as a live run, ticks closing as the frames' ticks advance. Decide runs
with acting switched off, and its digital twin is built from the recording as
a live one is from the bus, so the report lists the incidents the loop would
have opened and the actions it would have taken (``outcome`` empty) or held
(``outcome`` says why). This is the report to read before turning automation on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from actuators import TelemetryTwin
from schemas import DecisionKind, topics
from schemas.catalogue import Catalogue
from streams.metrics import LoopMetrics
from streams.recording.files import Recorded
from streams.recording.recorder import Recorder
from streams.runtime.bus import EmbeddedBus
from streams.runtime.embedded import load_policies, loop_stages
from streams.runtime.pipeline import Pipeline
from streams.settings import Settings


class PlannedIncident(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_id: str
    opened_tick: int
    fault_type: str | None
    candidates: list[str]
    confidence: float
    final_status: str


class PlannedAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tick: int
    incident_id: str
    decision: str
    tool: str | None
    target: str | None
    explanation: str
    outcome: str | None = None


class ReplayReport(BaseModel):
    """What a dry run of a recording found and would have done."""

    model_config = ConfigDict(extra="forbid")

    records: int
    telemetry_records: int
    ticks: int
    entity_reports: int
    dead_letters: int
    incidents: list[PlannedIncident]
    planned: list[PlannedAction]
    wall_seconds: float


async def replay_dry_run(messages: Iterable[Recorded], settings: Settings, *,
                         speed: float | None = None, recorder: Recorder | None = None,
                         catalogue: Catalogue | None = None) -> ReplayReport:
    """Feed a recording through every stage but act; ``speed`` scales recorded time (None: max).
    ``recorder`` keeps every record the stages wrote (a fresh one by default); ``catalogue`` is the
    telemetry's (default: the settings')."""
    metrics, recorder = LoopMetrics(), recorder or Recorder()
    rows = [0]

    def count(n: int) -> None:
        rows[0] += n

    stages = loop_stages(settings, load_policies(settings), act=False, executor=None, on_rows=count,
                         extra=[recorder], twin=TelemetryTwin(), catalogue=catalogue)
    start = time.perf_counter()
    counts = {"records": 0, "telemetry": 0, "ticks": 0}
    bus = EmbeddedBus(maxsize=settings.queue_size)
    async with Pipeline(stages, bus=bus, metrics=metrics) as pipeline:
        await _feed(pipeline, messages, speed, counts)
    return ReplayReport(
        records=counts["records"], telemetry_records=counts["telemetry"], ticks=counts["ticks"],
        entity_reports=rows[0], dead_letters=recorder.dead_letter_count,
        incidents=[_incident(recorder, iid) for iid in recorder.incidents],
        planned=[PlannedAction(tick=d.tick, incident_id=d.incident_id, decision=d.decision.value,
                               tool=d.tool, target=d.target, explanation=d.explanation, outcome=d.outcome)
                 for d in recorder.decisions
                 if d.decision in (DecisionKind.HOLD, DecisionKind.ESCALATE)],
        wall_seconds=round(time.perf_counter() - start, 3))


async def _feed(pipeline: Pipeline, messages: Iterable[Recorded], speed: float | None,
                counts: dict[str, int]) -> None:
    current: int | None = None
    closed = False  # current has been closed: a late frame came, so a later tick's delivery began
    first_ts: int | None = None
    t0 = time.perf_counter()
    for m in messages:
        counts["records"] += 1
        if speed is not None:
            first_ts = m.timestamp_ms if first_ts is None else first_ts
            due = t0 + (m.timestamp_ms - first_ts) / 1000.0 / speed
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if m.topic == topics.TELEMETRY:
            counts["telemetry"] += 1
            tick = _tick_of(m.value)
            # a frame of a later tick closes the current one; so does a late frame (an older tick's),
            # which arrives ahead of a later tick's frames, as it did on the live bus
            if tick is not None and current is not None and tick != current and not closed:
                await pipeline.close_tick(current)
                counts["ticks"] += 1
                closed = tick < current
            elif tick is not None and current is not None and tick > current:
                closed = False
            if tick is not None and (current is None or tick > current):
                current, closed = tick, False
        await pipeline.bus.publish(m.topic, m.key, m.value)
    if current is not None and not closed:
        await pipeline.close_tick(current)
        counts["ticks"] += 1
    await pipeline.bus.drain()


def _tick_of(value: bytes) -> int | None:
    """The tick of a telemetry record, or None for one that will be dead-lettered anyway."""
    try:
        tick = json.loads(value).get("tick")
    except (ValueError, AttributeError):
        return None
    return tick if isinstance(tick, int) else None


def _incident(recorder: Recorder, incident_id: str) -> PlannedIncident:
    first, last = recorder.first(incident_id), recorder.latest(incident_id)
    return PlannedIncident(incident_id=incident_id, opened_tick=first.opened_tick,
                           fault_type=first.fault_type,
                           candidates=[c.entity_id for c in first.candidates[:3]],
                           confidence=first.confidence, final_status=last.status.value)
