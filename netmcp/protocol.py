"""The request methods NetMCP adds to MCP, as wire models shared by server and client.

``netmcp/hello`` (version handshake, also the probe on a wire without
extension capabilities), ``netmcp/tools/list`` (tools with their NetMCP
metadata, most-used first for the caller, derived parameters hidden) and
``netmcp/tools/search`` (the few tools most relevant to a text).
"""

from __future__ import annotations

from typing import Any, Literal

import mcp_types as types
from mcp_types import RequestParams, Result
from pydantic import BaseModel, Field

HELLO = "netmcp/hello"
LIST = "netmcp/tools/list"
SEARCH = "netmcp/tools/search"


class HelloParams(RequestParams):
    version: str = Field(description="NetMCP version the client speaks")
    mcp_versions: list[str] = Field(default_factory=list, description="MCP versions the client speaks")


class HelloResult(Result):
    version: str
    server_id: str
    role: str
    tools: int


class ListParams(RequestParams):
    compact: bool = Field(default=True, description="hide the parameters the server derives")


class ToolEntry(BaseModel):
    name: str
    description: str = ""
    input_schema: dict[str, Any]
    netmcp: dict[str, Any]
    score: float | None = None


class ToolsResult(Result):
    tools: list[ToolEntry]


class SearchParams(RequestParams):
    query: str = Field(min_length=1, description="what the caller wants to do, in plain words")
    k: int = Field(default=5, ge=1, le=50)


class HelloRequest(types.Request[HelloParams, Literal["netmcp/hello"]]):
    method: Literal["netmcp/hello"] = HELLO


class ListRequest(types.Request[ListParams, Literal["netmcp/tools/list"]]):
    method: Literal["netmcp/tools/list"] = LIST


class SearchRequest(types.Request[SearchParams, Literal["netmcp/tools/search"]]):
    method: Literal["netmcp/tools/search"] = SEARCH
