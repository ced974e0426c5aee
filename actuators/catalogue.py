"""Checking a policy library against what the network offers, when it is loaded.

A rule that can never work must not load: a fault type nobody can localize, a
tool the tool servers do not have, a tool that acts on another kind of entity
than the fault's root (the twin and the tool would fail at run time and the
incident be dropped), a parameter the tool does not take, or an argument
outside the tool's range. :func:`check_policies` walks every rule and every
call of its workflow (branches, parallel steps and compensations too) and
raises :class:`~actuators.policy.PolicyError` naming the file, the rule or
workflow, and the field.

The catalogue is data handed in by the caller (``streams`` builds it from the
tool servers' catalogue and the localizer's fault signatures), so actuators
stay independent of both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from actuators.policy import DOMAIN_OF, PolicyError, PolicyTable, Rule
from actuators.workflow import CallStep, Compensate, IfStep, ParallelStep, Step
from schemas import EntityKind, ToolArgument


class ToolContract(Protocol):
    """What a tool takes: parameters, the target parameter, the entity kinds it acts on, ranges."""

    params: frozenset[str]
    target: str | None
    kinds: frozenset[str]
    ranges: Mapping[str, tuple[float | None, float | None]]


@dataclass(frozen=True)
class PolicyCatalogue:
    """The tools by name, and the entity kinds each fault type's root can be."""

    tools: Mapping[str, ToolContract]
    fault_roots: Mapping[str, frozenset[str]]


def check_policies(table: PolicyTable, catalogue: PolicyCatalogue, label: str) -> None:
    """Raise :class:`PolicyError` for the first rule or workflow of ``table`` that cannot work."""
    for rule in table.rules.values():
        kinds = _root_kinds(rule, catalogue, f"{label}: rule {rule.id!r}")
        if rule.tool is not None:
            call = CallStep(call=rule.tool, target_argument=rule.target_argument or "",
                            arguments=rule.arguments)
            _check_call(call, "", kinds, rule, catalogue, f"{label}: rule {rule.id!r}: ")
            continue
        assert rule.workflow is not None
        for path, call in _calls(table.workflows[rule.workflow].steps, "steps"):
            _check_call(call, f"{path}.", kinds, rule, catalogue, f"{label}: workflows.{rule.workflow}.")


def _root_kinds(rule: Rule, catalogue: PolicyCatalogue, where: str) -> frozenset[str]:
    """The kinds of entity the rule's incidents can have as root."""
    roots = catalogue.fault_roots.get(rule.fault_type)
    if roots is None:
        raise PolicyError(f"{where}: fault_type: unknown fault type {rule.fault_type!r} (known: "
                          f"{', '.join(sorted(catalogue.fault_roots))})")
    kinds = roots
    if rule.entity_kind is not None:
        if rule.entity_kind.value not in roots:
            raise PolicyError(f"{where}: entity_kind: {rule.entity_kind.value} is not the root of a "
                              f"{rule.fault_type} (its root is a {' or '.join(sorted(roots))})")
        kinds = frozenset({rule.entity_kind.value})
    if rule.domain is not None:
        kinds = frozenset(k for k in kinds if DOMAIN_OF.get(EntityKind(k)) == rule.domain)
        if not kinds:
            raise PolicyError(f"{where}: domain: no root of a {rule.fault_type} is in the {rule.domain}")
    return kinds


def _check_call(call: CallStep | Compensate, path: str, kinds: frozenset[str], rule: Rule,
                catalogue: PolicyCatalogue, where: str) -> None:
    tool = catalogue.tools.get(call.call)
    field = "tool" if not path else f"{path}call"
    if tool is None:
        raise PolicyError(f"{where}{field}: unknown tool {call.call!r} (known: "
                          f"{', '.join(sorted(catalogue.tools))})")
    if call.target_argument not in tool.params or call.target_argument != tool.target:
        raise PolicyError(f"{where}{path}target_argument: {call.call} has no parameter "
                          f"{call.target_argument!r} for its target (it takes {tool.target or 'none'})")
    wrong = sorted(kinds - tool.kinds)
    if wrong:
        raise PolicyError(f"{where}{field}: {call.call} acts on {' or '.join(sorted(tool.kinds))}, but the "
                          f"root of a {rule.fault_type} is a {' or '.join(wrong)}")
    for name, value in call.arguments.items():
        _check_argument(call.call, tool, name, value, f"{where}{path}arguments.{name}")


def _check_argument(tool_name: str, tool: ToolContract, name: str, value: ToolArgument, where: str) -> None:
    if name not in tool.params:
        raise PolicyError(f"{where}: {tool_name} has no parameter {name!r}")
    lo, hi = tool.ranges.get(name, (None, None))
    if lo is None and hi is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise PolicyError(f"{where}: {value!r} is not a number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise PolicyError(f"{where}: {value:g} is outside [{_bound(lo)}, {_bound(hi)}]")


def _bound(x: float | None) -> str:
    return "-inf" if x is None else f"{x:g}"


def _calls(steps: list[Step], path: str) -> Iterator[tuple[str, CallStep | Compensate]]:
    """Every call of ``steps`` with its path: branches, parallel steps and compensations too."""
    for i, step in enumerate(steps):
        here = f"{path}.{i}"
        if isinstance(step, CallStep):
            yield here, step
            if step.compensate is not None:
                yield f"{here}.compensate", step.compensate
        elif isinstance(step, IfStep):
            yield from _calls(step.then, f"{here}.then")
            yield from _calls(step.else_, f"{here}.else")
        elif isinstance(step, ParallelStep):
            for j, branch in enumerate(step.parallel):
                yield from _calls(branch, f"{here}.parallel.{j}")
