"""Scenario files: the YAML a user writes to describe a run, validated field by field."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulator.events import EventSpec, RandomEvents
from simulator.faults import FAULT_TYPES
from simulator.realism import IDEAL, PERFECT_TELEMETRY, Realism, Telemetry

_STRICT = ConfigDict(extra="forbid", frozen=True)
MAX_TICKS = 10_000_000
"""Longest run a scenario may ask for (115 days of one-minute ticks)."""


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the field (and the file, when parsing)."""


class TopologySpec(BaseModel):
    """Counts from which the topology is built."""

    model_config = _STRICT

    sites: int = Field(ge=1, le=5000)
    cells_per_site: int = Field(ge=1, le=12)
    upf: int = Field(ge=1, le=64)
    smf: int = Field(ge=1, le=64)
    amf: int = Field(ge=1, le=64)


class FaultSpec(BaseModel):
    """An explicit fault: type, optional target, start tick, optional duration."""

    model_config = _STRICT

    type: str
    target: str | None = None
    at: int = Field(ge=0, le=MAX_TICKS, strict=True)
    duration: int | None = Field(default=None, ge=1, le=MAX_TICKS, strict=True)
    severity: float = Field(default=0.8, gt=0, le=1)

    @model_validator(mode="after")
    def _known_type(self) -> Self:
        if self.type not in FAULT_TYPES:
            raise ValueError(f"unknown fault type {self.type!r}; known: {', '.join(FAULT_TYPES)}")
        return self


class RandomFaults(BaseModel):
    """Faults drawn from the scenario's seed."""

    model_config = _STRICT

    count: int = Field(ge=0, le=100_000, strict=True)
    types: list[str] = Field(default_factory=lambda: list(FAULT_TYPES), min_length=1)
    min_gap: int = Field(default=60, ge=0, le=MAX_TICKS, strict=True)
    duration: tuple[int, int] | None = None
    severity: tuple[float, float] = (0.6, 1.0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        unknown = [t for t in self.types if t not in FAULT_TYPES]
        if unknown:
            raise ValueError(f"unknown fault types {unknown}; known: {', '.join(FAULT_TYPES)}")
        if self.duration and not 1 <= self.duration[0] <= self.duration[1]:
            raise ValueError("duration must be [min, max] with 1 <= min <= max")
        lo, hi = self.severity
        if not 0 < lo <= hi <= 1:
            raise ValueError("severity must be [min, max] with 0 < min <= max <= 1")
        return self


class Scenario(BaseModel):
    """A whole run: seed, length, topology, how honest the world is, faults and benign events.

    ``telemetry`` defaults to realistic imperfections, or to perfect telemetry
    with ``realism: ideal``.
    """

    model_config = _STRICT

    name: str = Field(min_length=1)
    seed: int = Field(default=0, ge=0, le=2**63 - 1, strict=True)
    ticks: int = Field(ge=1, le=MAX_TICKS, strict=True)
    tick_seconds: float = Field(default=60.0, gt=0, le=86_400, allow_inf_nan=False)
    warmup_ticks: int = Field(default=300, ge=0, strict=True)
    topology: TopologySpec
    realism: Realism = Field(default_factory=Realism)
    telemetry: Telemetry
    faults: list[FaultSpec] = Field(default_factory=list)
    random_faults: RandomFaults | None = None
    events: list[EventSpec] = Field(default_factory=list)
    random_events: RandomEvents | None = None

    @model_validator(mode="before")
    @classmethod
    def _telemetry_follows_realism(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("telemetry") is None:
            realism = data.get("realism")
            ideal = realism == "ideal" or (isinstance(realism, Realism) and realism.ideal)
            data = {**data, "telemetry": PERFECT_TELEMETRY if ideal else Telemetry()}
        return data

    @model_validator(mode="after")
    def _starts_after_warmup(self) -> Self:
        if self.warmup_ticks >= self.ticks:
            raise ValueError(f"warmup_ticks: {self.warmup_ticks} leaves no tick of the run ({self.ticks}) "
                             "after the warm-up")
        for field, items in (("faults", self.faults), ("events", self.events)):
            for i, f in enumerate(items):
                if f.at < self.warmup_ticks:
                    raise ValueError(f"{field}.{i}.at: {f.at} is inside the warm-up "
                                     f"(warmup_ticks={self.warmup_ticks})")
                if f.at >= self.ticks:
                    raise ValueError(f"{field}.{i}.at: {f.at} is after the end of the run ({self.ticks})")
        return self

    def idealized(self) -> Scenario:
        """This scenario in the ideal world: no realism, perfect telemetry, no benign events."""
        return self.model_copy(update={"realism": IDEAL, "telemetry": PERFECT_TELEMETRY, "events": [],
                                       "random_events": None})


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with netloop."""
    folder = resources.files("simulator") / "scenarios"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_scenario(name_or_path: str) -> Scenario:
    """Load a built-in scenario by name, or a YAML file by path.

    Raises
    ------
    ScenarioError
        When the file is missing, is not YAML, or a field is invalid; the
        message names the field (``faults.0.type: ...``).
    """
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        source, label = _read(path), str(path)
    elif name_or_path in builtin_scenarios():
        ref = resources.files("simulator") / "scenarios" / f"{name_or_path}.yaml"
        source, label = ref.read_text(), f"built-in scenario {name_or_path!r}"
    else:
        known = ", ".join(builtin_scenarios())
        raise ScenarioError(f"no scenario file or built-in scenario {name_or_path!r} (built-in: {known})")
    return parse_scenario(source, label)


def parse_scenario(text: str, label: str = "scenario") -> Scenario:
    """Parse and validate scenario YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{label}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{label}: expected a mapping of fields at the top level")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{label}: " + _describe(exc)) from None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror}") from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-")) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if msg.startswith(f"{where}:") or (where == "(top level)" and _NAMED.match(msg)):
            lines.append(msg)
        elif _NAMED.match(msg):  # a model's own check that names its field: random_events.duration: ...
            lines.append(f"{where}.{msg}")
        else:
            lines.append(f"{where}: {msg}")
    return "; ".join(lines)


_NAMED = re.compile(r"^[a-z_]+(\.\d+)*(\.[a-z_]+)*: ")
