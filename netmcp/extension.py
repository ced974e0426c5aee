"""NetMCP as an MCP extension (SEP-2133) on the official SDK.

:class:`NetMcpExtension` is advertised under the identifier
:data:`~netmcp.spec.NETMCP` and brings two things to an ``MCPServer``:

- a ``tools/call`` interceptor that, before a call reaches the network, gives
  it a trace id, checks the caller's token against the tool's permission
  level, refuses unknown parameters, fills in derived parameters and defaults,
  verifies the constraints — and answers a repeated idempotency key (the
  action id) of the same caller and request with the first result instead of
  executing again (:mod:`netmcp.ledger`), counts the call for the caller's
  listing order, and writes the audit record;
- the request methods of :mod:`netmcp.protocol` (hello, tools/list, tools/search).

A plain MCP client never sees any of it beyond valid tools and clear errors.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp_types import CallToolRequestParams, CallToolResult, Tool

from netmcp.audit import AuditLog, AuditRecord
from netmcp.constraints import fill_derived
from netmcp.gate import Caller, Gate, Refused, bearer_of
from netmcp.ledger import IdempotencyLedger, key_reused, request_digest
from netmcp.methods import Methods, caller_key
from netmcp.spec import (
    META_CONFIRMED,
    META_CONTEXT,
    META_TRACE,
    NETMCP,
    NETMCP_VERSION,
    ToolSpec,
)
from schemas import ACTION_ID_META

META_REPLAYED = "io.netloop/replayed"


class NetMcpExtension(Extension):
    """The NetMCP extension of one tool server.

    Parameters
    ----------
    specs
        The NetMCP description of each tool the server carries.
    server_id, role
        Advertised in the extension settings and stamped on audit records.
    gate
        Authorisation and parameter verification (:class:`~netmcp.gate.Gate`).
    audit
        Where call records go.
    ledger_size
        Idempotency keys remembered per caller (see :class:`~netmcp.ledger.IdempotencyLedger`).
    ledger
        The idempotency ledger itself (default: one of ``ledger_size`` keys per caller).
    connect
        Maps an NF's endpoint URL to what an MCP client connects to (tests: an in-memory server).
    """

    identifier = NETMCP

    def __init__(self, specs: Mapping[str, ToolSpec], *, server_id: str, role: str, gate: Gate,
                 audit: AuditLog | None = None, ledger_size: int = 10_000,
                 ledger: IdempotencyLedger | None = None,
                 connect: Callable[[str], Any] | None = None) -> None:
        self.specs = dict(specs)
        self.server_id, self.role, self.gate = server_id, role, gate
        self.audit = audit if audit is not None else AuditLog()
        self.ledger = ledger if ledger is not None else IdempotencyLedger(capacity=ledger_size)
        self._inflight: dict[tuple[str, str], tuple[str, asyncio.Event]] = {}
        self.connect = connect or (lambda url: url)
        """How calls of NF-registered tools reach the NF's endpoint (the URL itself: streamable HTTP)."""
        self.api = Methods(self)

    def bind(self, list_tools: Callable[[], Awaitable[list[Tool]]], add_tool: Callable[..., Any]) -> None:
        """Give the extension the server's tool listing and ``add_tool`` (for NF-registered tools)."""
        self.api.bind(list_tools, add_tool)

    def settings(self) -> dict[str, Any]:
        return {"version": NETMCP_VERSION, "server_id": self.server_id, "role": self.role,
                "methods": list(self.api.names)}

    def methods(self) -> Sequence[MethodBinding]:
        return self.api.bindings()

    async def intercept_tool_call(self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any],
                                  call_next: CallNext) -> HandlerResult:
        spec = self.specs.get(params.name)
        if spec is None:
            return await call_next(ctx)  # not a NetMCP tool: the SDK answers
        meta = dict(ctx.meta or {})
        trace = meta.get(META_TRACE) if isinstance(meta.get(META_TRACE), str) else uuid.uuid4().hex
        meta[META_TRACE] = trace
        ctx.meta = meta  # the tool sees the trace id, and passes it on
        key = meta.get(ACTION_ID_META) if isinstance(meta.get(ACTION_ID_META), str) else None
        args = params.arguments if params.arguments is not None else {}
        params.arguments = args
        who = self.gate.identify(bearer_of(ctx, meta))
        record = _Recorder(self, spec.name, trace, args, key, meta)
        try:
            caller = self.gate.authorize(spec, who)
            record.client_id = caller.client_id
            # reads change nothing: their key is traced, never ledgered, so it cannot spend anyone's key
            keyed = _Keyed(caller.client_id, key, request_digest(caller.client_id, spec.name, args)) \
                if key is not None and spec.changes_network else None
            if keyed is not None and (first := await self._first_result(keyed)) is not None:
                return record.done(_replayed(first, trace), "replayed", "idempotency key seen before")
            await self._prepare(spec, args, caller, meta.get(META_CONFIRMED) is True)
            if keyed is not None:
                self.ledger.check_room(keyed.caller)
        except Refused as exc:
            record.done(None, exc.outcome, exc.error.message)
            raise
        return await self._execute(spec, ctx, call_next, record, keyed, caller)

    async def _prepare(self, spec: ToolSpec, args: dict[str, Any], caller: Caller, confirmed: bool) -> None:
        """Refuse unknown parameters, fill derived ones and defaults, verify the constraints."""
        tools = await self.api.load()  # the schema, and so the defaults, of every tool
        tool = tools.get(spec.name)
        known = set(((tool.input_schema or {}).get("properties") or {}) if tool is not None else args)
        self.gate.check_known(spec, args, known)
        fill_derived(spec.derived, args)
        for name, value in self.api.defaults(spec.name).items():
            args.setdefault(name, value)
        self.gate.verify(spec, args, caller, confirmed)

    async def _execute(self, spec: ToolSpec, ctx: ServerRequestContext[Any, Any], call_next: CallNext,
                       record: _Recorder, keyed: _Keyed | None, caller: Caller) -> HandlerResult:
        done = asyncio.Event()
        if keyed is not None:
            self._inflight[keyed.slot] = (keyed.digest, done)
        try:
            result = await call_next(ctx)
        finally:
            if keyed is not None:
                self._inflight.pop(keyed.slot, None)
            done.set()
        if isinstance(result, CallToolResult):
            result.meta = {**(result.meta or {}), META_TRACE: record.trace}
            if keyed is not None and not result.is_error:
                self.ledger.remember(keyed.caller, keyed.key, keyed.digest, result.model_copy(deep=True))
            self.api.usage.record(caller_key(ctx.meta or {}, caller.client_id), spec.name)
            return record.done(result, "error" if result.is_error else "ok", _text(result))
        return record.done(result, "ok", "")

    async def _first_result(self, keyed: _Keyed) -> CallToolResult | None:
        running = self._inflight.get(keyed.slot)
        if running is not None:  # the same action is executing now: wait for its result
            if running[0] != keyed.digest:
                raise key_reused(keyed.caller, keyed.key)
            await running[1].wait()
        return self.ledger.check(keyed.caller, keyed.key, keyed.digest)


@dataclass(frozen=True)
class _Keyed:
    """A call that carries an idempotency key: whose, which key, and the digest of the request."""

    caller: str
    key: str
    digest: str

    @property
    def slot(self) -> tuple[str, str]:
        return self.caller, self.key


class _Recorder:
    """Builds the audit record of one call as the interceptor learns about it."""

    def __init__(self, ext: NetMcpExtension, tool: str, trace: str, args: dict[str, Any],
                 key: str | None, meta: Mapping[str, Any]) -> None:
        self.ext, self.tool, self.trace, self.args, self.key = ext, tool, trace, args, key
        context = meta.get(META_CONTEXT)
        self.context_id = context.get("id") if isinstance(context, dict) else None
        self.client_id = "anonymous"

    def done(self, result: Any, outcome: Any, reason: str) -> Any:
        self.ext.audit.add(AuditRecord(
            trace_id=self.trace, server_id=self.ext.server_id, client_id=self.client_id, tool=self.tool,
            arguments=dict(self.args), outcome=outcome, reason=reason[:500], action_id=self.key,
            context_id=self.context_id if isinstance(self.context_id, str) else None))
        return result


def _replayed(first: CallToolResult, trace: str) -> CallToolResult:
    again = first.model_copy(deep=True)
    again.meta = {**(again.meta or {}), META_TRACE: trace, META_REPLAYED: True}
    return again


def _text(result: CallToolResult) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)
