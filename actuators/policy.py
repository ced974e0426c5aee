"""The policy library: rules that map an incident to a workflow template, kept as data (YAML).

A rule matches a root-cause candidate by fault type, and optionally by entity
kind, domain (``ran``, ``core``, ``transport``) and a confidence range; among
the rules that match, the highest ``priority`` wins. A rule names a workflow
(:mod:`actuators.workflow`) or, the short form, a single ``tool``. Rules may ask
for a human's approval and say when the digital twin is consulted.

The built-in library (``actuators/policies/*.yaml``) has a rule for each of the
ten fault types. A user's file, or every ``*.yaml`` of a user's directory, is
laid over it: a rule with the ``id`` of a built-in rule (by default its fault
type) replaces it, others are added; workflows likewise by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from actuators.workflow import Workflow, single_call
from schemas import Candidate, EntityKind, ToolArgument, kind_of

Domain = Literal["ran", "core", "transport"]
DOMAIN_OF: dict[EntityKind, Domain] = {
    EntityKind.CELL: "ran", EntityKind.GNB: "ran", EntityKind.SITE: "ran",
    EntityKind.UPF: "core", EntityKind.SMF: "core", EntityKind.AMF: "core",
    EntityKind.LINK: "transport"}


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the field."""


class Rule(BaseModel):
    """One rule: which incidents it matches, and the workflow that remediates them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default="", description="replaces a rule with the same id; default: fault_type")
    fault_type: str = Field(min_length=1)
    entity_kind: EntityKind | None = None
    domain: Domain | None = None
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    max_confidence: float = Field(default=1.0, ge=0, le=1)
    priority: int = 0
    workflow: str | None = None
    tool: str | None = Field(default=None, min_length=1)
    target_argument: str | None = Field(default=None, min_length=1)
    arguments: dict[str, ToolArgument] = Field(default_factory=dict)
    approval: bool = Field(default=False, description="always wait for a human's approval")
    twin: Literal["auto", "always", "never"] = Field(
        default="auto", description="auto, always: ask the twin (when one runs) before acting; never: do not")

    @model_validator(mode="after")
    def _one_remedy(self) -> Self:
        if (self.workflow is None) == (self.tool is None):
            raise ValueError("give either tool (with target_argument) or workflow")
        if self.tool is not None and self.target_argument is None:
            raise ValueError("tool needs target_argument: the parameter that receives the target id")
        if self.target_argument is not None and self.target_argument in self.arguments:
            raise ValueError(f"arguments must not set {self.target_argument!r}: the incident's "
                             "root cause is the target")
        if self.min_confidence > self.max_confidence:
            raise ValueError("min_confidence is above max_confidence")
        if not self.id:
            object.__setattr__(self, "id", self.fault_type)
        return self

    def matches(self, candidate: Candidate) -> bool:
        """Fault type, entity kind and domain match (confidence is judged separately)."""
        if candidate.fault_type != self.fault_type:
            return False
        try:
            kind = kind_of(candidate.entity_id)
        except ValueError:
            return self.entity_kind is None and self.domain is None
        return self.entity_kind in (None, kind) and self.domain in (None, DOMAIN_OF.get(kind))


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[Rule] = Field(default_factory=list)
    workflows: dict[str, Workflow] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.rules and not self.workflows:
            raise ValueError("a policy file has rules, workflows, or both")
        return self


@dataclass(frozen=True)
class Match:
    """The rule chosen for a candidate, or the best one its confidence fell outside of."""

    rule: Rule | None
    refused: Rule | None = None


@dataclass(frozen=True)
class PolicyTable:
    """The rules by id and the workflow templates by name."""

    rules: dict[str, Rule]
    workflows: dict[str, Workflow] = field(default_factory=dict)

    def lookup(self, fault_type: str | None) -> Rule | None:
        """The highest-priority rule for a fault type, whatever the entity."""
        found = [r for r in self.rules.values() if r.fault_type == fault_type]
        return max(found, key=lambda r: r.priority) if found else None

    def fault_types(self) -> frozenset[str]:
        """The fault types some rule remedies."""
        return frozenset(r.fault_type for r in self.rules.values())

    def match(self, candidate: Candidate, confidence: float) -> Match:
        """The highest-priority rule matching the candidate whose confidence range holds ``confidence``."""
        found = sorted((r for r in self.rules.values() if r.matches(candidate)),
                       key=lambda r: -r.priority)
        for r in found:
            if r.min_confidence <= confidence <= r.max_confidence:
                return Match(r)
        return Match(None, found[0] if found else None)

    def workflow_of(self, rule: Rule) -> Workflow:
        if rule.workflow is not None:
            return self.workflows[rule.workflow]
        assert rule.tool is not None and rule.target_argument is not None
        return single_call(rule.tool, rule.target_argument, rule.arguments)

    def over(self, other: PolicyTable) -> PolicyTable:
        """This library with ``other``'s rules and workflows laid over it."""
        return PolicyTable({**self.rules, **other.rules}, {**self.workflows, **other.workflows})

    @classmethod
    def default(cls) -> PolicyTable:
        files = sorted((f for f in (resources.files("actuators") / "policies").iterdir()
                        if f.name.endswith(".yaml")), key=lambda f: f.name)
        table = cls({})
        for f in files:
            table = table._with(cls.parse(f.read_text(), f"built-in policy {f.name}", check=False),
                                f"built-in policy {f.name}")
        return table

    @classmethod
    def load(cls, path: Path) -> PolicyTable:
        """The built-in library with a user's file, or every ``*.yaml`` of a directory, laid over it."""
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        if path.is_dir() and not files:
            raise PolicyError(f"{path}: no *.yaml policy files in this directory")
        table = cls.default()
        for f in files:
            try:
                text = f.read_text()
            except OSError as exc:
                raise PolicyError(f"cannot read policy {f}: {exc.strerror}") from None
            table = table._with(cls.parse(text, str(f), check=False), str(f))
        return table

    @classmethod
    def parse(cls, text: str, label: str, *, check: bool = True) -> PolicyTable:
        try:
            data = yaml.safe_load(text)
            parsed = _PolicyFile.model_validate(data)
        except yaml.YAMLError as exc:
            raise PolicyError(f"{label}: not valid YAML: {exc}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise PolicyError(f"{label}: {where}: {first['msg']}") from None
        ids = [r.id for r in parsed.rules]
        dup = next((i for i in ids if ids.count(i) > 1), None)
        if dup is not None:
            raise PolicyError(f"{label}: rules.{ids.index(dup)}.id: {dup!r} is given twice in this file")
        table = cls({r.id: r for r in parsed.rules}, dict(parsed.workflows))
        return cls({}, {})._with(table, label) if check else table

    def _with(self, layer: PolicyTable, label: str) -> PolicyTable:
        """``layer`` laid over this library, its rules' workflows checked against the result."""
        merged = self.over(layer)
        for i, r in enumerate(layer.rules.values()):
            if r.workflow is not None and r.workflow not in merged.workflows:
                raise PolicyError(f"{label}: rules.{i}.workflow: no workflow named {r.workflow!r}")
        for name, w in layer.workflows.items():
            try:
                w.main_call()
            except ValueError as exc:
                raise PolicyError(f"{label}: workflows.{name}.steps: {exc}") from None
        return merged
