"""Typed inputs and outputs of the NetMCP tools (pydantic: they become the MCP tool schemas)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

CellId = Annotated[str, Field(pattern=r"^cell-\d{4}-\d{1,2}$", description="cell id, e.g. cell-0003-1")]
LinkId = Annotated[str, Field(pattern=r"^link-\d{4}$", description="backhaul link id, e.g. link-0003")]
UpfId = Annotated[str, Field(pattern=r"^upf-\d+$", description="UPF id, e.g. upf-1")]
SmfId = Annotated[str, Field(pattern=r"^smf-\d+$", description="SMF id, e.g. smf-1")]
AmfId = Annotated[str, Field(pattern=r"^amf-\d+$", description="AMF id, e.g. amf-1")]
EntityId = Annotated[str, Field(pattern=r"^(cell|link|gnb|site|upf|smf|amf)-[\d-]+$",
                                description="any entity id, e.g. cell-0003-1, link-0003, upf-1")]


class ActionOutcome(BaseModel):
    """The network's acknowledgement of a change. Whether it helped shows in the KPIs."""

    tool: str
    target: str
    applied: bool
    tick: int = Field(description="network tick at which the change was applied")
    detail: str


class EntityKpis(BaseModel):
    """The last KPIs an entity reported."""

    entity_id: str
    tick: int
    kpis: dict[str, float]


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
