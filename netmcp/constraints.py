"""Parameter constraints of NetMCP tools, and the verdict of checking a call against them.

A call is checked before it reaches the network. Each constraint answers
*allow*, *refuse* (naming the parameter and the rule) or *confirm* (the rules
cannot decide; a human must). Model-based checks (a digital twin, a learned
model) plug in as :class:`CallCheck` callables and answer the same way.

>>> tilt = Range("tilt_deg", ge=0, le=15)
>>> tilt.check({"tilt_deg": 20}).reason
'tilt_deg = 20 breaks tilt_deg in [0, 15]'
>>> total = Rule(("tilt_deg", "mechanical_tilt_deg"), lambda e, m: e + m <= 15,
...             "tilt_deg + mechanical_tilt_deg <= 15")
>>> verify((tilt, total), {"tilt_deg": 12, "mechanical_tilt_deg": 6}).outcome
'refuse'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Outcome = Literal["allow", "refuse", "confirm"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one call; ``param`` and ``rule`` say what refused it."""

    outcome: Outcome
    param: str | None = None
    rule: str | None = None
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"


ALLOW = Verdict("allow")


class Constraint(Protocol):
    """One check over a call's arguments."""

    def check(self, args: Mapping[str, Any]) -> Verdict: ...

    def describe(self) -> dict[str, Any]: ...


class CallCheck(Protocol):
    """A model-based verification hook: ``(tool, args) -> Verdict``; ``None`` means no opinion."""

    def __call__(self, tool: str, args: Mapping[str, Any]) -> Verdict | None: ...


@dataclass(frozen=True)
class Range:
    """``ge <= args[param] <= le`` (either bound may be open)."""

    param: str
    ge: float | None = None
    le: float | None = None

    @property
    def text(self) -> str:
        lo = "-inf" if self.ge is None else f"{self.ge:g}"
        hi = "inf" if self.le is None else f"{self.le:g}"
        return f"{self.param} in [{lo}, {hi}]"

    def check(self, args: Mapping[str, Any]) -> Verdict:
        value = args.get(self.param)
        if value is None:
            return ALLOW
        if not isinstance(value, int | float) or isinstance(value, bool):
            return Verdict("refuse", self.param, self.text,
                           f"{self.param} must be a number, got {_shown(value)}")
        number = _finite(value)
        if number is None:
            return Verdict("refuse", self.param, self.text,
                           f"{self.param} must be a finite number, got {_shown(value)}")
        if (self.ge is not None and number < self.ge) or (self.le is not None and number > self.le):
            return Verdict("refuse", self.param, self.text, f"{self.param} = {number:g} breaks {self.text}")
        return ALLOW

    def describe(self) -> dict[str, Any]:
        return {"kind": "range", "param": self.param, "ge": self.ge, "le": self.le, "rule": self.text}


@dataclass(frozen=True)
class _Predicate:
    """A predicate over some parameters, described by ``text``."""

    params: tuple[str, ...]
    predicate: Callable[..., bool]
    text: str

    def _holds(self, args: Mapping[str, Any]) -> bool | None:
        """Whether the predicate holds; ``None`` when a parameter is missing (nothing to check)."""
        if any(args.get(p) is None for p in self.params):
            return None
        try:
            return bool(self.predicate(*(args[p] for p in self.params)))
        except (TypeError, ValueError, ArithmeticError):  # a value of the wrong type cannot satisfy a rule
            return False


@dataclass(frozen=True)
class Rule(_Predicate):
    """An inter-parameter rule: ``predicate(*values of params)`` must hold."""

    def check(self, args: Mapping[str, Any]) -> Verdict:
        if self._holds(args) is not False:
            return ALLOW
        shown = ", ".join(f"{p} = {_shown(args[p])}" for p in self.params)
        return Verdict("refuse", self.params[0], self.text, f"{shown} breaks {self.text}")

    def describe(self) -> dict[str, Any]:
        return {"kind": "rule", "params": list(self.params), "rule": self.text}


@dataclass(frozen=True)
class ConfirmWhen(_Predicate):
    """A case the rules cannot decide: when ``predicate`` holds, a human must confirm the call."""

    def check(self, args: Mapping[str, Any]) -> Verdict:
        if self._holds(args):
            return Verdict("confirm", self.params[0], self.text, f"needs human confirmation: {self.text}")
        return ALLOW

    def describe(self) -> dict[str, Any]:
        return {"kind": "confirm", "params": list(self.params), "rule": self.text}


@dataclass(frozen=True)
class Derived:
    """A parameter the server fills in when the caller leaves it out."""

    param: str
    value: Callable[[Mapping[str, Any]], Any]
    text: str


def fill_derived(derived: Sequence[Derived], args: dict[str, Any]) -> list[str]:
    """Fill the derived parameters missing from ``args`` in place; return the names filled."""
    filled = []
    for d in derived:
        if args.get(d.param) is None:
            args[d.param] = d.value(args)
            filled.append(d.param)
    return filled


def verify(constraints: Sequence[Constraint], args: Mapping[str, Any],
           checks: Sequence[CallCheck] = (), tool: str = "") -> Verdict:
    """The first refusal among ``constraints`` then ``checks``; else the first *confirm*; else allow.

    Before any of them, every number among ``args`` must be finite: NaN fails every
    comparison, so it would pass any range, and an integer past the float range
    cannot be compared with one.

    >>> verify((), {"max_utilization_ratio": float("nan")}).reason
    'max_utilization_ratio must be a finite number, got nan'
    """
    for name, value in args.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and _finite(value) is None:
            return Verdict("refuse", name, "finite number", f"{name} must be a finite number, got "
                           f"{_shown(value)}")
    confirm: Verdict | None = None
    for c in constraints:
        v = c.check(args)
        if v.outcome == "refuse":
            return v
        confirm = confirm or (v if v.outcome == "confirm" else None)
    for check in checks:
        try:
            v = check(tool, args)
        except Exception as exc:  # noqa: BLE001 - a check that cannot decide must not let the call through
            return Verdict("refuse", None, "model-based check", f"a model-based check failed: {exc!r}"[:300])
        if v is not None and v.outcome == "refuse":
            return v
        if v is not None and v.outcome == "confirm":
            confirm = confirm or v
    return confirm or ALLOW


def _finite(value: float) -> float | None:
    """``value`` as a float when it is finite and within the float range; else None."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _shown(value: Any) -> str:
    """A short text of a value for a refusal (a huge integer or string is cut, never printed whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
