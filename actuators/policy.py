"""The policy table: fault type → NetMCP tool and arguments, kept as data (YAML)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas import ToolArgument


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the field."""


class Rule(BaseModel):
    """One rule: which tool fixes a fault type, and how to call it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fault_type: str = Field(min_length=1)
    tool: str = Field(min_length=1)
    target_argument: str = Field(min_length=1, description="tool parameter that receives the target id")
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    arguments: dict[str, ToolArgument] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _target_is_not_fixed(self) -> Self:
        if self.target_argument in self.arguments:
            raise ValueError(f"arguments must not set {self.target_argument!r}: the incident's "
                             "root cause is the target")
        return self

    def call_arguments(self, target: str) -> dict[str, ToolArgument]:
        return {**self.arguments, self.target_argument: target}


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[Rule] = Field(min_length=1)


@dataclass(frozen=True)
class PolicyTable:
    """Rules by fault type. A policy file given by the user replaces the default table."""

    rules: dict[str, Rule]

    def lookup(self, fault_type: str | None) -> Rule | None:
        return self.rules.get(fault_type) if fault_type else None

    @classmethod
    def default(cls) -> PolicyTable:
        text = (resources.files("actuators") / "policies" / "default.yaml").read_text()
        return cls.parse(text, "built-in default policy")

    @classmethod
    def load(cls, path: Path) -> PolicyTable:
        try:
            text = path.read_text()
        except OSError as exc:
            raise PolicyError(f"cannot read policy {path}: {exc.strerror}") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, label: str) -> PolicyTable:
        try:
            data = yaml.safe_load(text)
            parsed = _PolicyFile.model_validate(data)
        except yaml.YAMLError as exc:
            raise PolicyError(f"{label}: not valid YAML: {exc}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise PolicyError(f"{label}: {where}: {first['msg']}") from None
        return cls({r.fault_type: r for r in parsed.rules})
