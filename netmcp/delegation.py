"""Tools that network functions register with a tool server, which forwards their calls to the NF.

An NF offers a tool (``netmcp/tools/register``) with its description, labels,
typed parameters with ranges, and the MCP endpoint that executes it. The tool
server accepts it when the tool fits its scope (shared labels, or a
description close to the server's summary); from then on the tool is listed
like the server's own, verified by the same interceptor (its ranges become
constraints), and each call is forwarded to the NF.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal

import mcp_types as types
from mcp import Client
from mcp.types import ToolAnnotations
from mcp_types import CallToolResult, RequestParams, Result
from pydantic import BaseModel, Field

from netmcp.auth import NETWORK_ACT
from netmcp.constraints import Range
from netmcp.registry import ToolDescriptor, accepts_tool
from netmcp.spec import Category, Domain, Permission, ToolSpec

REGISTER = "netmcp/tools/register"
_TYPES: dict[str, type] = {"number": float, "integer": int, "string": str, "boolean": bool}
_NAME = r"^[a-z][a-z0-9_]{2,63}$"


class ParamDecl(BaseModel):
    """One parameter of an NF's tool."""

    type: Literal["number", "integer", "string", "boolean"]
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    required: bool = True


class RegisterToolParams(RequestParams):
    """An NF's offer of a tool."""

    name: str = Field(pattern=_NAME, description="tool name, unique on the server")
    description: str = Field(min_length=10, description="what the tool does, for agents and search")
    labels: list[str] = Field(default_factory=list)
    category: Category = Category.PERFORMANCE
    domain: Domain
    endpoint: str = Field(description="the NF's MCP endpoint (streamable HTTP URL) that executes it")
    parameters: dict[str, ParamDecl] = Field(default_factory=dict)


class RegisterToolResult(Result):
    accepted: bool
    reason: str


class RegisterToolRequest(types.Request[RegisterToolParams, Literal["netmcp/tools/register"]]):
    method: Literal["netmcp/tools/register"] = REGISTER


Connect = Callable[[str], Any]


def decide(params: RegisterToolParams, labels: tuple[str, ...], summary: str,
           taken: set[str]) -> tuple[bool, str]:
    """Whether a server with ``labels`` and ``summary`` accepts the offered tool, and why."""
    if params.name in taken:
        return False, f"{params.name} is already a tool of this server"
    descriptor = ToolDescriptor(name=params.name, description=params.description, labels=tuple(params.labels),
                                category=params.category.value, domain=params.domain.value)
    return accepts_tool(labels, summary, descriptor)


def spec_of(params: RegisterToolParams) -> ToolSpec:
    """The NetMCP description of a delegated tool: token-guarded, its ranges as constraints."""
    ranges = tuple(Range(n, ge=p.minimum, le=p.maximum) for n, p in params.parameters.items()
                   if p.minimum is not None or p.maximum is not None)
    return ToolSpec(params.name, params.domain, params.category, Permission.TOKEN, NETWORK_ACT,
                    labels=(*params.labels, "delegated"), constraints=ranges)


def forwarder(params: RegisterToolParams, connect: Connect) -> Callable[..., Any]:
    """An async function with the tool's typed signature that forwards each call to the NF."""
    endpoint, name = params.endpoint, params.name

    async def forward(**arguments: Any) -> CallToolResult:
        async with Client(connect(endpoint)) as nf:
            return await nf.call_tool(name, {k: v for k, v in arguments.items() if v is not None})

    forward.__name__ = name
    forward.__doc__ = params.description
    forward.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [_parameter(n, p) for n, p in params.parameters.items()], return_annotation=CallToolResult)
    return forward


def _parameter(name: str, decl: ParamDecl) -> inspect.Parameter:
    kind = _TYPES[decl.type]
    field = Field(description=decl.description) if decl.description else Field()
    annotation: Any = Annotated[kind if decl.required else kind | None, field]
    default = inspect.Parameter.empty if decl.required else None
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


ANNOTATIONS = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False,
                              openWorldHint=True)
