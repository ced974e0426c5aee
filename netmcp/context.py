"""The execution context of one workflow instance: shared state, a fan-out queue and a scheduler.

Every tool call of the instance carries the context's id and step in its
``_meta`` (:data:`~netmcp.spec.META_CONTEXT`), so the tool servers' audit ties
the calls of one workflow together; the steps share ``state``, hand messages
to each other through :meth:`publish`/:meth:`subscribe`, and delay or retry
work through :meth:`later` and :meth:`retry`.

>>> ctx = ExecutionContext("INC-000181-link-0003")
>>> ctx.state["root"] = "link-0003"
>>> ctx.meta()["workflow"], ctx.meta()["step"]
('INC-000181-link-0003', 0)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    """One tool call of the workflow and whether it succeeded."""

    index: int
    tool: str
    arguments: dict[str, Any]
    ok: bool


class ExecutionContext:
    """State shared by the steps of one workflow instance.

    Parameters
    ----------
    workflow
        What the instance is for (an incident id, a template name).
    queue_size
        Bound of each subscriber's queue: a slow subscriber makes :meth:`publish` wait.
    """

    def __init__(self, workflow: str, *, context_id: str | None = None, queue_size: int = 256) -> None:
        self.workflow = workflow
        self.id = context_id or f"{workflow}/{uuid.uuid4().hex[:12]}"
        self.state: dict[str, Any] = {}
        self.steps: list[Step] = []
        self._queue_size = queue_size
        self._subscribers: list[asyncio.Queue[Any]] = []
        self._timers: set[asyncio.Task[Any]] = set()

    def meta(self) -> dict[str, Any]:
        """What travels with a tool call: the context id, the workflow and the step about to run."""
        return {"id": self.id, "workflow": self.workflow, "step": len(self.steps)}

    def record(self, tool: str, arguments: dict[str, Any], result: Any) -> Step:
        """Note a finished call as the next step."""
        step = Step(len(self.steps), tool, dict(arguments), not getattr(result, "is_error", False))
        self.steps.append(step)
        return step

    def subscribe(self) -> asyncio.Queue[Any]:
        """A queue that receives every message published from now on."""
        q: asyncio.Queue[Any] = asyncio.Queue(self._queue_size)
        self._subscribers.append(q)
        return q

    async def publish(self, message: Any) -> int:
        """Hand ``message`` to every subscriber (fan-out); return how many got it."""
        for q in self._subscribers:
            await q.put(message)
        return len(self._subscribers)

    def later(self, delay_s: float, step: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        """Run ``step`` after ``delay_s`` seconds; :meth:`close` cancels what has not run."""

        async def run() -> T:
            await asyncio.sleep(delay_s)
            return await step()

        task = asyncio.ensure_future(run())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)
        return task

    async def retry(self, step: Callable[[], Awaitable[T]], *, attempts: int = 3, backoff_s: float = 0.2,
                    retry_on: tuple[type[BaseException], ...] = (OSError, TimeoutError),
                    done: Callable[[T], bool] | None = None) -> T:
        """Run ``step`` until it returns a result ``done`` accepts, at most ``attempts`` times.

        Waits ``backoff_s``, then twice that, and so on between attempts. An
        exception of ``retry_on`` counts as a failed attempt; the last one is raised.
        """
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                result = await step()
            except retry_on:
                if last:
                    raise
            else:
                if done is None or done(result) or last:
                    return result
            await asyncio.sleep(backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Cancel the delayed steps that have not run."""
        for task in list(self._timers):
            task.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
