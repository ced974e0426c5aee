"""Workflow templates, as data: the steps a policy runs to remediate an incident.

A template is a list of steps, each a one-key mapping in YAML:

- ``call: TOOL`` — call a NetMCP tool on the incident's target (``target_argument``
  names the parameter), with fixed ``arguments``, an optional ``retry`` with
  backoff in ticks, an optional ``compensate`` call that undoes it, and a ``name``
  conditions can refer to;
- ``wait: N`` — let N ticks pass (the loop goes on meanwhile);
- ``observe: NAME`` — read the target's KPIs through NetMCP (``get_entity_kpis``)
  into the run's state under NAME;
- ``if: {step: NAME, ok: BOOL}`` or ``if: {observed: NAME, kpi: K, above|below: X}``
  with ``then:`` and ``else:`` steps;
- ``parallel: [[steps], [steps], ...]`` — branches that run side by side;
- ``fail: REASON`` — stop; what was done so far is compensated.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from schemas import ToolArgument

ROLLBACK_TOOL = "rollback_change"

_Strict = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Retry(BaseModel):
    """Try a failed call again, waiting ``backoff_ticks``, then twice that, and so on."""

    model_config = _Strict
    attempts: int = Field(default=2, ge=1, le=10)
    backoff_ticks: int = Field(default=1, ge=0, le=100)


class Compensate(BaseModel):
    """The call that undoes a call step (its target is the same entity)."""

    model_config = _Strict
    call: str = Field(min_length=1)
    target_argument: str = Field(min_length=1)
    arguments: dict[str, ToolArgument] = Field(default_factory=dict)


class CallStep(BaseModel):
    model_config = _Strict
    call: str = Field(min_length=1)
    target_argument: str = Field(min_length=1, description="tool parameter that receives the target id")
    arguments: dict[str, ToolArgument] = Field(default_factory=dict)
    retry: Retry | None = None
    compensate: Compensate | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _target_is_not_fixed(self) -> Self:
        if self.target_argument in self.arguments:
            raise ValueError(f"arguments must not set {self.target_argument!r}: the incident's "
                             "root cause is the target")
        return self

    def call_arguments(self, target: str) -> dict[str, ToolArgument]:
        return {**self.arguments, self.target_argument: target}


class WaitStep(BaseModel):
    model_config = _Strict
    wait: int = Field(ge=1, le=1000, description="ticks")


class ObserveStep(BaseModel):
    model_config = _Strict
    observe: str = Field(min_length=1, description="name the KPIs are kept under")


class Condition(BaseModel):
    """On a named call's success, or on an observed KPI against a bound."""

    model_config = _Strict
    step: str | None = None
    ok: bool = True
    observed: str | None = None
    kpi: str | None = None
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        on_kpi = self.observed is not None
        if (self.step is None) == (not on_kpi):
            raise ValueError("a condition names either a step or an observed KPI")
        if on_kpi and (self.kpi is None or (self.above is None) == (self.below is None)):
            raise ValueError("a KPI condition needs kpi and exactly one of above/below")
        return self


class IfStep(BaseModel):
    model_config = _Strict
    if_: Condition = Field(alias="if")
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")


class ParallelStep(BaseModel):
    model_config = _Strict
    parallel: list[list[Step]] = Field(min_length=2)


class FailStep(BaseModel):
    model_config = _Strict
    fail: str = Field(min_length=1)


_KINDS = ("call", "wait", "observe", "if", "parallel", "fail")


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((k for k in _KINDS if k in value), None)
    return next((k for k, c in _CLASSES.items() if isinstance(value, c)), None)


Step = Annotated[
    Annotated[CallStep, Tag("call")] | Annotated[WaitStep, Tag("wait")]
    | Annotated[ObserveStep, Tag("observe")] | Annotated[IfStep, Tag("if")]
    | Annotated[ParallelStep, Tag("parallel")] | Annotated[FailStep, Tag("fail")],
    Discriminator(_kind, custom_error_type="step_kind",
                  custom_error_message=f"a step is one of: {', '.join(_KINDS)}")]
_CLASSES = {"call": CallStep, "wait": WaitStep, "observe": ObserveStep, "if": IfStep,
            "parallel": ParallelStep, "fail": FailStep}
IfStep.model_rebuild()
ParallelStep.model_rebuild()


class Workflow(BaseModel):
    """A named template: its steps, and whether its changes can be undone."""

    model_config = _Strict
    description: str = ""
    steps: list[Step] = Field(min_length=1)

    def main_call(self) -> CallStep:
        """The first call step: what guards, the twin and the audit judge the workflow by."""
        found = _calls(self.steps)
        if not found:
            raise ValueError("a workflow needs at least one call step")
        return found[0]

    @property
    def reversible(self) -> bool:
        return all(c.compensate is not None for c in _calls(self.steps))

    def describe(self, target: str) -> list[str]:
        """The steps in words, for the decision record."""
        return _describe(self.steps, target, "")


def single_call(tool: str, target_argument: str, arguments: dict[str, ToolArgument]) -> Workflow:
    """The workflow of a rule that names a tool directly: one call, not reversible."""
    return Workflow(steps=[CallStep(call=tool, target_argument=target_argument, arguments=arguments)])


def _calls(steps: list[Any]) -> list[CallStep]:
    out: list[CallStep] = []
    for s in steps:
        if isinstance(s, CallStep):
            out.append(s)
        elif isinstance(s, IfStep):
            out += _calls(s.then) + _calls(s.else_)
        elif isinstance(s, ParallelStep):
            for branch in s.parallel:
                out += _calls(branch)
    return out


def _describe(steps: list[Any], target: str, indent: str) -> list[str]:
    lines: list[str] = []
    for s in steps:
        if isinstance(s, CallStep):
            extra = f" (retry ×{s.retry.attempts})" if s.retry else ""
            undo = f", undo with {s.compensate.call}" if s.compensate else ""
            lines.append(f"{indent}call {s.call} on {target}{extra}{undo}")
        elif isinstance(s, WaitStep):
            lines.append(f"{indent}wait {s.wait} ticks")
        elif isinstance(s, ObserveStep):
            lines.append(f"{indent}read {target}'s KPIs as {s.observe}")
        elif isinstance(s, IfStep):
            c = s.if_
            cond = (f"{c.step} {'succeeded' if c.ok else 'failed'}" if c.step else
                    f"{c.observed}.{c.kpi} {'>' if c.above is not None else '<'} "
                    f"{c.above if c.above is not None else c.below}")
            lines += [f"{indent}if {cond}:", *_describe(s.then, target, indent + "  ")]
            if s.else_:
                lines += [f"{indent}else:", *_describe(s.else_, target, indent + "  ")]
        elif isinstance(s, ParallelStep):
            for i, branch in enumerate(s.parallel, 1):
                lines += [f"{indent}in parallel, branch {i}:", *_describe(branch, target, indent + "  ")]
        else:
            lines.append(f"{indent}fail: {s.fail}")
    return lines

