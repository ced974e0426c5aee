"""Benign events of a scenario: traffic surges and planned maintenance, explicit or random.

Neither is a fault. A *traffic surge* is a crowd at a site (or one cell):
demand rises within capacity, load KPIs rise, quality KPIs hold. *Maintenance*
is announced on a calendar ahead of time; the entity goes dark for its window.
An action on an entity during a benign event, with no fault there, is a false
action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas import EntityKind
from simulator.topology import Topology

EventType = Literal["traffic_surge", "maintenance"]
EVENT_TYPES: tuple[str, ...] = ("traffic_surge", "maintenance")
TARGET_KINDS: dict[str, tuple[EntityKind, ...]] = {
    "traffic_surge": (EntityKind.SITE, EntityKind.CELL),
    "maintenance": (EntityKind.CELL, EntityKind.SITE, EntityKind.LINK),
}
DEFAULT_FACTOR = 2.5
DEFAULT_NOTICE = 60  # ticks a maintenance window is announced ahead of its start
_STRICT = ConfigDict(extra="forbid", frozen=True)


class EventSpec(BaseModel):
    """An explicit benign event."""

    model_config = _STRICT

    type: EventType
    target: str | None = None
    at: int = Field(ge=0)
    duration: int = Field(default=60, ge=1, le=100_000)
    factor: float | None = Field(default=None, gt=1, le=10,
                                 description="traffic_surge: demand multiplier at the peak")
    notice: int | None = Field(default=None, ge=0, le=100_000,
                               description="maintenance: ticks it is announced ahead of its start")

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> Self:
        if self.type == "maintenance" and self.factor is not None:
            raise ValueError("factor: only a traffic_surge has a factor")
        if self.type == "traffic_surge" and self.notice is not None:
            raise ValueError("notice: only maintenance is announced")
        return self


class RandomEvents(BaseModel):
    """Benign events drawn from the scenario's seed, anywhere after the warm-up."""

    model_config = _STRICT

    count: int = Field(ge=0, le=10_000)
    types: tuple[EventType, ...] = Field(default=EVENT_TYPES, min_length=1)
    duration: tuple[int, int] = (20, 120)
    factor: tuple[float, float] = (1.5, 3.0)

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        if not 1 <= self.duration[0] <= self.duration[1]:
            raise ValueError("duration: must be [min, max] with 1 <= min <= max")
        if not 1 < self.factor[0] <= self.factor[1] <= 10:
            raise ValueError("factor: must be [min, max] with 1 < min <= max <= 10")
        return self


@dataclass(frozen=True)
class PlannedEvent:
    """A benign event with its target resolved."""

    event_id: str
    type: str
    target: str
    at: int
    duration: int
    factor: float
    notice: int

    @property
    def end(self) -> int:
        """First tick after the event."""
        return self.at + self.duration


def plan_events(events: list[EventSpec], spec: RandomEvents | None, *, warmup: int, ticks: int,
                topo: Topology, rng: np.random.Generator) -> list[PlannedEvent]:
    """Resolve explicit and random events, sorted by start.

    Raises
    ------
    ValueError
        Naming the field (``events.0.target: ...``) when a target does not exist or is of a
        kind the event cannot have.
    """
    out = [_explicit(i, e, topo, rng) for i, e in enumerate(events)]
    if spec is not None:
        out += _random(spec, warmup, ticks, topo, rng)
    out.sort(key=lambda e: (e.at, e.target))
    return [PlannedEvent(f"EV{i + 1:03d}", e.type, e.target, e.at, e.duration, e.factor, e.notice)
            for i, e in enumerate(out)]


def _explicit(i: int, e: EventSpec, topo: Topology, rng: np.random.Generator) -> PlannedEvent:
    target = topo.resolve(e.target, TARGET_KINDS[e.type], field=f"events.{i}.target", what=f"a {e.type}",
                          rng=rng)
    factor = e.factor if e.factor is not None else DEFAULT_FACTOR
    notice = e.notice if e.notice is not None else DEFAULT_NOTICE
    return PlannedEvent("", e.type, target, e.at, e.duration, factor if e.type == "traffic_surge" else 1.0,
                        notice if e.type == "maintenance" else 0)


def _random(spec: RandomEvents, warmup: int, ticks: int, topo: Topology,
            rng: np.random.Generator) -> list[PlannedEvent]:
    out = []
    for _ in range(spec.count):
        kind = str(rng.choice(list(spec.types)))
        duration = int(rng.integers(spec.duration[0], spec.duration[1] + 1))
        at = int(rng.integers(warmup, max(warmup + 1, ticks - duration)))
        target = str(rng.choice(topo.ids[TARGET_KINDS[kind][0]]))
        factor = round(float(rng.uniform(*spec.factor)), 2) if kind == "traffic_surge" else 1.0
        out.append(PlannedEvent("", kind, target, at, duration, factor,
                                DEFAULT_NOTICE if kind == "maintenance" else 0))
    return out
