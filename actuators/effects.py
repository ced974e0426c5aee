"""The twin's effect model: what each tool is expected to do, to which KPIs, with what uncertainty.

Data, not code: ``actuators/policies/twin/effects.yaml`` documents every
field. :func:`effect_model` loads the built-in file (or a user's) into
:class:`ToolEffect` entries; :meth:`ParameterRule.pick` chooses a tool
parameter from what the telemetry shows.

>>> model = effect_model()
>>> model["restart_cell"].fixes
('cell_outage',)
>>> model["enable_load_balancing"].parameter.pick(excess=0.5)
0.393
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from actuators.policy import PolicyError

_Strict = ConfigDict(extra="forbid", frozen=True)
Span = tuple[int, int]


class Restores(BaseModel):
    """KPIs a tool brings back: on its target (root) and on the cells behind it; ``all``: every KPI."""

    model_config = _Strict
    root: tuple[str, ...] | Literal["all"] = ()
    cells: tuple[str, ...] | Literal["all"] = ()


class Cost(BaseModel):
    """Extra badness (sigmas) a call adds to some KPIs for some ticks (``None``: until rolled back)."""

    model_config = _Strict
    where: Literal["root", "cells"]
    kpis: tuple[str, ...] = Field(min_length=1)
    sigmas: tuple[float, float]
    ticks: Span | None = None


class ParameterRule(BaseModel):
    """How the twin picks the value of one tool parameter."""

    model_config = _Strict
    name: str
    source: Literal["excess", "fixed"] = Field(alias="from")
    kpi: str | None = None
    per_unit: float = Field(default=1.0, gt=0)
    margin: float = 0.0
    min: float | None = None
    max: float | None = None
    default: float | None = None
    value: float | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.source == "fixed" and self.value is None:
            raise ValueError("from: fixed needs a value")
        if self.source == "excess" and (self.kpi is None or self.default is None):
            raise ValueError("from: excess needs kpi and default")
        return self

    def pick(self, *, excess: float | None) -> float:
        """The value for a target whose ``kpi`` runs ``excess`` (a share) above its baseline, or the
        default when no excess shows."""
        if self.source == "fixed":
            return float(self.value)  # type: ignore[arg-type]
        if excess is None or excess <= 0:
            v = float(self.default)  # type: ignore[arg-type]
        elif self.integer:
            v = math.ceil(excess / self.per_unit - 1e-9)
        else:
            v = excess / (1.0 + excess) / self.per_unit + self.margin
        return self.bounded(v)

    def bounded(self, v: float) -> float:
        """``v`` within ``min``..``max``, an integer when the parameter is one."""
        lo = self.min if self.min is not None else v
        hi = self.max if self.max is not None else v
        v = min(max(v, lo), hi)
        return float(int(v)) if self.integer else round(v, 3)


class ToolEffect(BaseModel):
    """The expected effect of one tool (see the YAML file for the meaning of each field)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    fixes: tuple[str, ...] = Field(min_length=1)
    restores: Restores
    success: tuple[float, float] = (8.0, 2.0)
    delay_ticks: Span = (0, 0)
    recovery_ticks: Span = (2, 8)
    costs: tuple[Cost, ...] = ()
    parameter: ParameterRule | None = None
    revert_after_ticks: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _spans(self) -> Self:
        for name in ("delay_ticks", "recovery_ticks"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name}: must be [min, max] with 0 <= min <= max")
        if min(self.success) <= 0:
            raise ValueError("success: both Beta counts must be positive")
        return self

    @property
    def settles_within(self) -> int:
        """Ticks after a call by which a fix should show fully."""
        return self.delay_ticks[1] + self.recovery_ticks[1]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tools: dict[str, ToolEffect]


def parse_effects(text: str, label: str) -> dict[str, ToolEffect]:
    """Parse an effect-model file; ``PolicyError`` names the file and the field."""
    try:
        return dict(_File.model_validate(yaml.safe_load(text)).tools)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{label}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        msg = first["msg"].removeprefix("Value error, ")
        field, sep, rest = msg.partition(": ")
        if sep and field.isidentifier():  # a check of the entry that names its field
            where, msg = f"{where}.{field}", rest
        raise PolicyError(f"{label}: {where}: {msg}") from None


@cache
def effect_model(path: Path | None = None) -> dict[str, ToolEffect]:
    """The built-in effect model, or a user's file."""
    if path is not None:
        return parse_effects(path.read_text(), str(path))
    ref = resources.files("actuators") / "policies" / "twin" / "effects.yaml"
    return parse_effects(ref.read_text(), "built-in effect model")
