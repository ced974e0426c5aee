"""Executing actions through an MCP client session, idempotently on the action id."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any, Protocol

from schemas import ACTION_ID_META, ActionRequest, ActionResult


class ToolCaller(Protocol):
    """Anything that calls a tool by name: an ``mcp.Client`` or ``ClientSession``."""

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None, *,
                        meta: dict[str, Any] | None = None) -> Any: ...


class Executor:
    """Calls the tool of each action once; a repeated action id returns the first result.

    The action id also travels with the call (``_meta`` key :data:`ACTION_ID_META`), so a
    tool server that keeps a ledger applies it once even when a restarted executor,
    which remembers nothing, is handed the same action again.

    Failures of the call itself (an error result, a timeout, a broken session)
    become ``ok=False`` results with the reason, never exceptions.

    It remembers the results of its last ``remember`` actions; an older action id handed
    to it again goes to the tool server, whose ledger answers with the first result.
    """

    def __init__(self, *, caller: ToolCaller, timeout_s: float = 10.0, remember: int = 10_000) -> None:
        self.caller = caller
        self.timeout_s = timeout_s
        self.remember = remember
        self._done: OrderedDict[str, ActionResult] = OrderedDict()
        self.calls = 0

    async def execute(self, action: ActionRequest, tick: int) -> ActionResult:
        """Run ``action``; the result's tick is when the network says it applied the change
        (a ``tick`` in the tool's structured output), else ``tick``."""
        done = self._done.get(action.action_id)
        if done is not None:
            return done
        ok, detail, applied = await self._call(action)
        result = ActionResult(action_id=action.action_id, incident_id=action.incident_id,
                              tick=applied if applied is not None else tick, tool=action.tool,
                              target=action.target, ok=ok, detail=detail)
        self._done[action.action_id] = result
        if len(self._done) > self.remember:
            self._done.popitem(last=False)
        return result

    async def _call(self, action: ActionRequest) -> tuple[bool, str, int | None]:
        self.calls += 1
        try:
            result = await asyncio.wait_for(
                self.caller.call_tool(action.tool, dict(action.arguments),
                                      meta={ACTION_ID_META: action.action_id}),
                self.timeout_s)
        except TimeoutError:
            return False, f"{action.tool} timed out after {self.timeout_s:g}s", None
        except Exception as exc:  # noqa: BLE001 - a broken session must not stop the act stage
            return False, f"{action.tool} failed: {type(exc).__name__}: {exc}", None
        text = " ".join(getattr(c, "text", "") for c in result.content).strip()
        if result.is_error:
            return False, text or f"{action.tool} returned an error", None
        structured = getattr(result, "structured_content", None) or {}
        applied = structured.get("tick")
        return True, text or f"{action.tool} done", applied if isinstance(applied, int) else None
