"""Relabel-style rules that name a series' entity and KPI from its labels.

The idea of Prometheus' ``relabel_config``, small. A rule file is YAML::

    unmatched: drop            # or reject: a series no rule matches is dead-lettered
    rules:
      - match: {__name__: "node_(?P<what>cpu|memory)_.*", instance: "(?P<host>[^:]+):\\d+"}
        entity: "{host}"
        kpi: "{what}_{__name__}"  # default: "{__name__}"
        counter: auto             # true | false | auto (as the source says)
      - match: {__name__: "go_.*"}
        drop: true

A series is its labels (``__name__`` is the metric or measurement name; each adapter documents
the others). Regexes are anchored at both ends, like Prometheus'; a label the series lacks
matches as the empty string. The first rule whose every regex matches wins. Templates fill
``{name}`` from the regexes' named groups, then from the labels; ``{{`` and ``}}`` are braces.
A rule file with a mistake is refused at load with the field named
(``rules[2].match.job: invalid regex ...``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from streams.ingest.samples import Sample, Tally

_RULE_FIELDS = ("match", "entity", "kpi", "counter", "drop")
_TEMPLATE_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


class MappingError(ValueError):
    """A rule file that cannot be used; the message names the field."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a series goes: its entity, its KPI, and whether it is a monotonic counter."""

    entity: str
    kpi: str
    counter: bool


@dataclass(frozen=True, slots=True)
class Dropped:
    """A series the rules do not want; ``why`` is ``"dropped by rule"`` or ``"unmatched"``."""

    why: str


@dataclass(frozen=True, slots=True)
class Unusable:
    """A series the rules refuse (unmatched with ``unmatched: reject``, or a template's label missing)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: anchored regexes per label, templates, the counter choice, or drop."""

    where: str
    match: tuple[tuple[str, re.Pattern[str]], ...]
    entity: str
    kpi: str
    counter: bool | None
    drop: bool

    def groups(self, labels: Mapping[str, str]) -> dict[str, str] | None:
        """The named groups of the regexes if every one matches ``labels``, else None."""
        found: dict[str, str] = {}
        for label, regex in self.match:
            m = regex.fullmatch(labels.get(label, ""))
            if m is None:
                return None
            found.update({k: v for k, v in m.groupdict().items() if v is not None})
        return found


@dataclass(frozen=True, slots=True)
class Rules:
    """The rules of one file, in order, and what to do with a series none matches."""

    rules: tuple[Rule, ...]
    unmatched: Literal["drop", "reject"] = "drop"

    def resolve(self, labels: Mapping[str, str], *, counter: bool) -> Target | Dropped | Unusable:
        """Name the series with ``labels``; ``counter`` is what its source says it is.

        Examples
        --------
        >>> m = parse_rules([{"match": {"__name__": "up"}, "entity": "{job}"}])
        >>> m.resolve({"__name__": "up", "job": "node"}, counter=False)
        Target(entity='node', kpi='up', counter=False)
        >>> m.resolve({"__name__": "down"}, counter=False)
        Dropped(why='unmatched')
        """
        for rule in self.rules:
            groups = rule.groups(labels)
            if groups is None:
                continue
            if rule.drop:
                return Dropped("dropped by rule")
            values = {**labels, **groups}
            entity, kpi = _fill(rule.entity, values), _fill(rule.kpi, values)
            if isinstance(entity, Unusable) or isinstance(kpi, Unusable):
                missing = entity if isinstance(entity, Unusable) else kpi
                return Unusable(f"{rule.where}: {missing.reason}")
            if not entity or not kpi:
                return Unusable(f"{rule.where}: the {'entity' if not entity else 'kpi'} template "
                                "gave an empty name")
            return Target(entity, kpi, counter if rule.counter is None else rule.counter)
        if self.unmatched == "reject":
            return Unusable("no rule matches the series")
        return Dropped("unmatched")

    def sample(self, labels: Mapping[str, str], value: float, *, time_s: float, counter: bool,
               tally: Tally) -> Sample | Unusable | None:
        """The sample for one value of the series ``labels``, or why not (None: skipped, counted).

        A non-finite value is skipped as ``"not finite"``; a dropped series as its
        :class:`Dropped` reason.
        """
        if not (math.isfinite(value) and math.isfinite(time_s)):
            tally.skip("not finite")
            return None
        target = self.resolve(labels, counter=counter)
        if isinstance(target, Dropped):
            tally.skip(target.why)
            return None
        if isinstance(target, Unusable):
            return target
        return Sample(time_s, target.entity, target.kpi, value, target.counter)


def _fill(template: str, values: Mapping[str, str]) -> str | Unusable:
    missing: list[str] = []

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return m.group(0)[0]  # "{{" is "{", "}}" is "}"
        if name not in values:
            missing.append(name)
            return ""
        return values[name]

    text = _TEMPLATE_PART.sub(one, template)
    return Unusable(f"no label or group {missing[0]!r} in the series") if missing else text


def load_rules(path: Path) -> Rules:
    """Read and check a rule file; refuse it with :class:`MappingError` naming the field."""
    try:
        body = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise MappingError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise MappingError(f"{path}: not UTF-8 text") from None
    try:
        return parse_rules(body)
    except MappingError as exc:
        raise MappingError(f"{path}: {exc}") from None


def parse_rules(body: Any) -> Rules:
    """Check a rule file's content (a list of rules, or ``{rules: [...], unmatched: ...}``)."""
    unmatched: Any = "drop"
    if isinstance(body, dict):
        extra = set(body) - {"rules", "unmatched"}
        if extra:
            raise MappingError(f"{sorted(map(str, extra))[0]}: unknown field; expected rules, unmatched")
        unmatched, body = body.get("unmatched", "drop"), body.get("rules")
    if unmatched not in ("drop", "reject"):
        raise MappingError(f"unmatched: {unmatched!r} is not drop or reject")
    if not isinstance(body, list) or not body:
        raise MappingError("rules: expected a non-empty list of rules")
    return Rules(tuple(_rule(r, f"rules[{i}]") for i, r in enumerate(body)), unmatched)


def _rule(body: Any, where: str) -> Rule:
    if not isinstance(body, dict):
        raise MappingError(f"{where}: expected a mapping with {', '.join(_RULE_FIELDS)}")
    for key in body:
        if key not in _RULE_FIELDS:
            raise MappingError(f"{where}.{key}: unknown field; expected one of {', '.join(_RULE_FIELDS)}")
    drop = body.get("drop", False)
    if not isinstance(drop, bool):
        raise MappingError(f"{where}.drop: expected true or false")
    counter = body.get("counter", "auto")
    if counter not in (True, False, "auto"):
        raise MappingError(f"{where}.counter: expected true, false or auto")
    if not drop and "entity" not in body:
        raise MappingError(f"{where}.entity: required (or drop: true)")
    return Rule(where, _match(body.get("match", {}), f"{where}.match"),
                _template(body.get("entity", ""), f"{where}.entity"),
                _template(body.get("kpi", "{__name__}"), f"{where}.kpi"),
                None if counter == "auto" else counter, drop)


def _match(body: Any, where: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    if not isinstance(body, dict):
        raise MappingError(f"{where}: expected a mapping of label to regex")
    found = []
    for label, regex in body.items():
        if not isinstance(label, str) or not _NAME.fullmatch(label):
            raise MappingError(f"{where}: {label!r} is not a label name")
        if not isinstance(regex, str):
            raise MappingError(f"{where}.{label}: expected a regex string")
        try:
            found.append((label, re.compile(regex)))
        except re.error as exc:
            raise MappingError(f"{where}.{label}: invalid regex {regex!r}: {exc}") from None
    return tuple(found)


def _template(text: Any, where: str) -> str:
    if not isinstance(text, str):
        raise MappingError(f"{where}: expected a template string")
    for m in _TEMPLATE_PART.finditer(text):
        if m.group(0) in "{}":
            raise MappingError(f"{where}: unbalanced brace in {text!r} (write {{{{ or }}}} for a brace)")
        if m.group(1) is not None and not _NAME.fullmatch(m.group(1)):
            raise MappingError(f"{where}: {{{m.group(1)}}} is not a label or group name")
    return text
