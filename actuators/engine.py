"""The workflow engine: runs templates step by step inside the tick-driven loop.

Each run is a coroutine. Tool calls are awaited (the tick waits for them, as
a single call did before); ``wait`` steps, retry backoffs and parallel
branches park the run until a later tick, so the loop goes on meanwhile.
:meth:`WorkflowEngine.start` and :meth:`WorkflowEngine.on_tick` return once
every run is parked or done — a run is reproducible for a seed.

The steps of a run share an execution context (NetMCP's
:class:`~netmcp.ExecutionContext` in the loop: ``state`` and the step log);
each run has an id and a trace of what it did, tick by tick.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from actuators.executor import Executor, ToolCaller
from actuators.policy import PolicyTable
from actuators.workflow import (
    CallStep,
    Condition,
    FailStep,
    IfStep,
    ObserveStep,
    ParallelStep,
    WaitStep,
    Workflow,
    single_call,
)
from schemas import ActionRequest, ActionResult, ToolCall

READ_KPIS = "get_entity_kpis"


class WorkflowContext(Protocol):
    """What a run needs of its execution context: shared state and a log of its calls."""

    state: dict[str, Any]

    def record(self, tool: str, arguments: dict[str, Any], result: Any) -> Any: ...


class _Failed(Exception):
    """A step failed: the run stops and compensates what it changed."""


@dataclass
class Run:
    """One execution of a workflow for one action."""

    run_id: str
    action: ActionRequest
    context: WorkflowContext
    trace: list[str] = field(default_factory=list)
    compensation: list[ToolCall] = field(default_factory=list)
    results: dict[str, bool] = field(default_factory=dict)
    applied_tick: int | None = None
    calls: int = 0
    result: ActionResult | None = None


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    is_error: bool


class WorkflowEngine:
    """Runs the workflow of each action; returns an :class:`ActionResult` when a run ends.

    Parameters
    ----------
    executor
        Calls the tools that change the network (idempotent on each call's key).
    reader
        Calls read-only tools (``observe`` steps); the executor's caller if not given.
    policies
        Where workflow templates are looked up by name.
    context
        Makes the execution context of a run from its action id.
    remember
        Ended runs whose action ids are kept (not their state): the same action again does not
        run again; an older one would, and the tool server's ledger answers each call of it.
    """

    def __init__(self, *, executor: Executor, policies: PolicyTable,
                 context: Callable[[str], WorkflowContext], reader: ToolCaller | None = None,
                 remember: int = 10_000) -> None:
        self.executor, self.policies, self._context = executor, policies, context
        self.reader = reader or executor.caller
        self.runs: dict[str, Run] = {}  # the runs going on
        self.remember, self._ended = remember, OrderedDict[str, None]()
        self.now = 0
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._sleepers: list[tuple[int, asyncio.Future[None]]] = []
        self._finished: list[ActionResult] = []

    async def start(self, action: ActionRequest, tick: int) -> list[ActionResult]:
        """Start the run of ``action`` (once per action id) at ``tick``; results of runs that ended."""
        self.now = max(self.now, tick)
        run_id = f"wf:{action.action_id}"
        if run_id not in self.runs and run_id not in self._ended:
            run = self.runs[run_id] = Run(run_id, action, self._context(action.action_id))
            self._spawn(self._run(run))
        return await self._settle()

    async def on_tick(self, tick: int) -> list[ActionResult]:
        """``tick`` is over: wake the runs waiting for it; results of runs that ended."""
        self.now = max(self.now, tick + 1)
        due = [(t, f) for t, f in self._sleepers if t <= self.now]
        self._sleepers = [(t, f) for t, f in self._sleepers if t > self.now]
        for _, fut in due:
            self._busy(+1)
            fut.set_result(None)
        return await self._settle()

    @property
    def waiting(self) -> int:
        """Runs (or branches) parked until a later tick."""
        return len(self._sleepers)

    # --- bookkeeping: a run is active while it is not parked on a tick -----------------------

    def _busy(self, n: int) -> None:
        self._active += n
        if self._active:
            self._idle.clear()
        else:
            self._idle.set()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        self._busy(+1)

        async def tracked() -> Any:
            try:
                return await coro
            finally:
                self._busy(-1)

        return asyncio.ensure_future(tracked())

    async def _settle(self) -> list[ActionResult]:
        await self._idle.wait()
        done, self._finished = self._finished, []
        return done

    async def _wait(self, ticks: int) -> None:
        if ticks <= 0:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + ticks, fut))
        self._busy(-1)
        await fut  # on_tick counted this run active again before waking it

    # --- running a workflow ------------------------------------------------------------------

    def workflow_of(self, action: ActionRequest) -> Workflow:
        if action.workflow is not None:
            return self.policies.workflows[action.workflow]
        target_arg = next(k for k, v in action.arguments.items() if v == action.target)
        rest = {k: v for k, v in action.arguments.items() if k != target_arg}
        return single_call(action.tool, target_arg, rest)

    async def _run(self, run: Run) -> None:
        a = run.action
        ok, rolled_back = True, False
        try:
            if a.rollback:
                rolled_back = ok = await self._undo(run, list(a.rollback))
            else:
                await self._steps(run, self.workflow_of(a).steps)
        except _Failed as exc:
            run.trace.append(f"t={self.now} failed: {exc}")
            ok, rolled_back = False, bool(run.compensation) and await self._undo(run, run.compensation)
        except KeyError as exc:
            run.trace.append(f"t={self.now} no workflow named {exc}")
            ok = False
        detail = run.trace[-1].split(" ", 1)[1] if run.trace else "nothing to do"
        run.result = ActionResult(
            action_id=a.action_id, incident_id=a.incident_id, tick=run.applied_tick or self.now,
            tool=a.tool, target=a.target, ok=ok, detail=detail, run_id=run.run_id, trace=list(run.trace),
            compensation=[] if (rolled_back or not ok) else list(run.compensation),
            rolled_back=rolled_back)
        self._finished.append(run.result)
        del self.runs[run.run_id]
        self._ended[run.run_id] = None
        if len(self._ended) > self.remember:
            self._ended.popitem(last=False)

    async def _steps(self, run: Run, steps: list[Any]) -> None:
        for step in steps:
            if isinstance(step, CallStep):
                await self._call(run, step)
            elif isinstance(step, WaitStep):
                run.trace.append(f"t={self.now} wait {step.wait} ticks")
                await self._wait(step.wait)
            elif isinstance(step, ObserveStep):
                await self._observe(run, step)
            elif isinstance(step, IfStep):
                taken = self._holds(run, step.if_)
                run.trace.append(f"t={self.now} condition {'holds' if taken else 'does not hold'}")
                await self._steps(run, step.then if taken else step.else_)
            elif isinstance(step, ParallelStep):
                await self._parallel(run, step.parallel)
            elif isinstance(step, FailStep):
                raise _Failed(step.fail)

    async def _call(self, run: Run, step: CallStep) -> None:
        a = run.action
        key = a.action_id if run.calls == 0 else f"{a.action_id}#{run.calls}"
        run.calls += 1
        attempts = step.retry.attempts if step.retry else 1
        for attempt in range(attempts):
            req = ActionRequest(action_id=key if attempt == 0 else f"{key}~{attempt}",
                                incident_id=a.incident_id, tick=a.tick, tool=step.call, target=a.target,
                                arguments=self._arguments(run, step))
            res = await self.executor.execute(req, self.now)
            run.context.record(step.call, dict(req.arguments), _Outcome(res.ok, not res.ok))
            run.trace.append(f"t={res.tick} {step.call} on {a.target}: {'ok' if res.ok else 'failed'}"
                             f" ({res.detail})")
            if res.ok:
                break
            if attempt < attempts - 1:
                assert step.retry is not None
                await self._wait(step.retry.backoff_ticks * 2**attempt)
        if step.name:
            run.results[step.name] = res.ok
            run.context.state[f"ok:{step.name}"] = res.ok
        if not res.ok:
            raise _Failed(f"{step.call} on {a.target} failed after {attempts} attempt(s)")
        run.applied_tick = run.applied_tick or res.tick
        if step.compensate is not None:
            c = step.compensate
            run.compensation.append(ToolCall(tool=c.call, target=a.target,
                                             arguments={**c.arguments, c.target_argument: a.target}))

    @staticmethod
    def _arguments(run: Run, step: CallStep) -> dict[str, Any]:
        """The step's arguments; the main call also takes the ones decide chose (the twin's picks)."""
        args = step.call_arguments(run.action.target)
        if run.calls == 1 and step.call == run.action.tool:
            return {**run.action.arguments, **args}
        return args

    async def _observe(self, run: Run, step: ObserveStep) -> None:
        target = run.action.target
        try:
            result = await self.reader.call_tool(READ_KPIS, {"entity_id": target})
            kpis = (getattr(result, "structured_content", None) or {}).get("kpis", {})
        except Exception as exc:  # noqa: BLE001 - a failed read fails the step, not the loop
            raise _Failed(f"reading {target}'s KPIs failed: {exc}") from None
        run.context.state[step.observe] = dict(kpis)
        run.trace.append(f"t={self.now} observed {len(kpis)} KPIs of {target} as {step.observe}")

    def _holds(self, run: Run, c: Condition) -> bool:
        if c.step is not None:
            return run.results.get(c.step) is c.ok
        kpis = run.context.state.get(c.observed or "", {})
        value = kpis.get(c.kpi)
        if value is None:
            raise _Failed(f"no KPI {c.kpi} observed as {c.observed}")
        return value > c.above if c.above is not None else value < c.below  # type: ignore[operator]

    async def _parallel(self, run: Run, branches: list[list[Any]]) -> None:
        left = len(branches)
        self._busy(len(branches) - 1)  # the branches are active; this coroutine waits on them

        async def branch(steps: list[Any]) -> None:
            nonlocal left
            try:
                await self._steps(run, steps)
            finally:
                left -= 1
                if left == 0:
                    self._busy(+1)  # hand the count back to the waiting parent before leaving
                self._busy(-1)

        outcomes = await asyncio.gather(*(branch(b) for b in branches), return_exceptions=True)
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:
            raise failed

    async def _undo(self, run: Run, calls: list[ToolCall]) -> bool:
        """Run compensating calls, last change first; True when all succeeded."""
        ok = True
        for i, call in enumerate(reversed(calls)):
            req = ActionRequest(action_id=f"{run.action.action_id}#undo{i}",
                                incident_id=run.action.incident_id, tick=run.action.tick,
                                tool=call.tool, target=call.target, arguments=call.arguments)
            res = await self.executor.execute(req, self.now)
            run.context.record(call.tool, dict(call.arguments), _Outcome(res.ok, not res.ok))
            run.trace.append(f"t={res.tick} compensate: {call.tool} on {call.target}: "
                             f"{'ok' if res.ok else 'failed'} ({res.detail})")
            ok = ok and res.ok
        return ok
