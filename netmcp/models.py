"""Typed inputs and outputs of the NetMCP tools (pydantic: they become the MCP tool schemas)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

CellId = Annotated[str, Field(pattern=r"^cell-\d{4}-\d{1,2}$", description="cell id, e.g. cell-0003-1")]
LinkId = Annotated[str, Field(pattern=r"^link-\d{4}$", description="backhaul link id, e.g. link-0003")]
UpfId = Annotated[str, Field(pattern=r"^upf-\d+$", description="UPF id, e.g. upf-1")]
SmfId = Annotated[str, Field(pattern=r"^smf-\d+$", description="SMF id, e.g. smf-1")]
AmfId = Annotated[str, Field(pattern=r"^amf-\d+$", description="AMF id, e.g. amf-1")]
NfId = Annotated[str, Field(pattern=r"^(upf|smf|amf)-\d+$", description="core NF id, e.g. upf-1, amf-2")]
EntityId = Annotated[str, Field(pattern=r"^(cell|link|gnb|site|upf|smf|amf)-[\d-]+$",
                                description="any entity id, e.g. cell-0003-1, link-0003, upf-1")]


class ActionOutcome(BaseModel):
    """The network's acknowledgement of a change. Whether it helped shows in the KPIs."""

    tool: str
    target: str
    applied: bool
    tick: int = Field(description="network tick at which the change was applied")
    detail: str
    parameters: dict[str, float | int | str] = Field(
        default_factory=dict, description="the parameters applied, including those the server derived")
    trace_id: str | None = Field(default=None, description="trace id of the call that made the change")


class EntityKpis(BaseModel):
    """The last KPIs an entity reported."""

    entity_id: str
    tick: int
    kpis: dict[str, float]


class EntityStatus(BaseModel):
    """One network function's state: its last KPIs, its alarms and its place in the topology."""

    entity_id: str
    kind: str
    tick: int
    kpis: dict[str, float]
    alarms: list[str]
    depends_on: list[str]
    dependents: int = Field(description="entities that depend on this one directly")


class Neighbourhood(BaseModel):
    """An entity's place in the topology: what it depends on and what depends on it."""

    entity_id: str
    kind: str
    depends_on: list[str]
    dependents: list[str]


class Alarm(BaseModel):
    """An alarm raised by equipment."""

    entity_id: str
    text: str


class Alarms(BaseModel):
    """Active alarms at a tick."""

    tick: int
    alarms: list[Alarm]


class Window(BaseModel):
    """A planned maintenance window: the entity may go dark from ``start_tick`` to ``end_tick``."""

    window_id: str
    entity_id: str
    start_tick: int
    end_tick: int = Field(description="first tick after the window")
    reason: str


class Calendar(BaseModel):
    """The maintenance windows announced and not yet over, at a tick."""

    tick: int
    windows: list[Window]
