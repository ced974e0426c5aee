"""A KPI catalogue a deployment declares: its entity kinds, their KPIs, and how entity ids name them.

The loop learns nothing about a network from code: what kinds of entity there
are, which KPIs each reports (unit, the direction that is bad, whether it is
a counter) and how an entity id says its kind are data. The simulated 5G
network's catalogue (:func:`builtin_catalogue`) is one such declaration;
another network brings its own YAML file::

    name: ip-core
    kinds:
      router:
        ids: "^(IntGW|RR|TR)-[0-9]+$"
        kpis:
          - {name: cpu_util_ratio, unit: ratio, bad: up}
      interface:
        ids: "^(?P<parent>[A-Za-z]+-[0-9]+)/(Gi|Te)[0-9]+$"
        kpis:
          - {name: rx_pps, unit: packets/s, bad: both}
          - {name: in_octets, unit: bytes, bad: both, counter: true}
    depends_on: {interface: [router]}

``ids`` is a regular expression an entity id of that kind matches (default
``^<kind>-``); a named group ``parent`` says which entity the entity belongs
to (an interface to its router): without a topology file, an entity depends on
its parent. ``depends_on`` says which kinds a kind may depend on; it is
checked (every kind named is declared) and documents the model, but the loop
takes its topology from a file or the ``parent`` groups, not from it. A bad
file is refused with the field named (:class:`CatalogueError`).
"""

from __future__ import annotations

import re
from functools import cache, cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.kpis import KPIS_BY_KIND, Direction

_NAME = r"^[a-z][a-z0-9_]*$"


class CatalogueError(ValueError):
    """A catalogue that cannot be used; the message names the file and the field."""


class KpiDecl(BaseModel):
    """One KPI a kind reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME, max_length=64, description="KPI name, unit in the name where it helps")
    unit: str = Field(default="", max_length=32, description="unit, e.g. 'ms', 'ratio', 'packets/s'")
    bad: Direction = Field(description="which way the KPI moves when things get worse: up, down or both")
    counter: bool = Field(default=False, description="a monotonic counter: the loop sees its rate per second")
    description: str = Field(default="", max_length=300)


class KindDecl(BaseModel):
    """One entity kind: how its ids look and the KPIs it reports, in frame column order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ids: str | None = Field(default=None, max_length=300,
                            description="regular expression an entity id of this kind matches; "
                                        "a named group 'parent' names the entity it belongs to")
    kpis: tuple[KpiDecl, ...] = Field(default=(), max_length=256)

    @field_validator("ids")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return v

    @field_validator("kpis")
    @classmethod
    def _unique(cls, v: tuple[KpiDecl, ...]) -> tuple[KpiDecl, ...]:
        names = [k.name for k in v]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"KPI names appear twice: {', '.join(twice)}")
        return v


class Catalogue(BaseModel):
    """A deployment's declared kinds and KPIs (see the module)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    kinds: dict[str, KindDecl] = Field(min_length=1, max_length=64)
    depends_on: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("kinds")
    @classmethod
    def _kind_names(cls, v: dict[str, KindDecl]) -> dict[str, KindDecl]:
        for name in v:
            if not re.match(_NAME, name):
                raise ValueError(f"kind name {name!r} must be lowercase letters, digits and _")
        return v

    @model_validator(mode="after")
    def _known_kinds(self) -> Catalogue:
        for kind, upstream in self.depends_on.items():
            for k in (kind, *upstream):
                if k not in self.kinds:
                    declared = ", ".join(self.kinds)
                    raise ValueError(f"depends_on.{kind}: unknown kind {k!r} (declared: {declared})")
        return self

    def kpis(self, kind: str) -> tuple[KpiDecl, ...]:
        """The KPIs of ``kind`` in frame column order (empty for a kind that reports none)."""
        return self.kinds[kind].kpis

    def kpi_names(self, kind: str) -> tuple[str, ...]:
        """The names of :meth:`kpis`.

        >>> builtin_catalogue().kpi_names("link")
        ('utilization_ratio', 'latency_ms', 'packet_loss_ratio')
        """
        return tuple(k.name for k in self.kpis(kind))

    @property
    def observable(self) -> tuple[str, ...]:
        """The kinds that report KPIs."""
        return tuple(k for k, decl in self.kinds.items() if decl.kpis)

    def kind_of(self, entity_id: str) -> str | None:
        """The kind whose ``ids`` the entity id matches first, or None.

        >>> builtin_catalogue().kind_of("cell-0003-1")
        'cell'
        """
        for kind, pattern in self._patterns:
            if pattern.search(entity_id):
                return kind
        return None

    def parent_of(self, entity_id: str) -> str | None:
        """The entity this one belongs to, by the ``parent`` group of its kind's ``ids``, or None."""
        for _, pattern in self._patterns:
            m = pattern.search(entity_id)
            if m:
                return m.groupdict().get("parent")
        return None

    @cached_property
    def _patterns(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        return tuple((k, re.compile(d.ids if d.ids is not None else f"^{re.escape(k)}-"))
                     for k, d in self.kinds.items())


def parse_catalogue(text: str, label: str = "catalogue") -> Catalogue:
    """Parse and validate catalogue YAML text; :class:`CatalogueError` names the field that is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{label}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogueError(f"{label}: expected a mapping with name, kinds and depends_on")
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        named = where == "(top level)" or msg.startswith(where)
        raise CatalogueError(f"{label}: {msg if named else f'{where}: {msg}'}") from None


def load_catalogue(path: Path) -> Catalogue:
    """The catalogue in a YAML file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise CatalogueError(f"cannot read catalogue {path}: {exc.strerror}") from None
    return parse_catalogue(text, str(path))


@cache
def builtin_catalogue() -> Catalogue:
    """The simulated 5G network's catalogue: cells, links and the core NFs (:mod:`schemas.kpis`)."""
    kinds = {kind.value: KindDecl(kpis=tuple(KpiDecl(name=k.name, bad=k.bad, description=k.description,
                                                     unit=_unit(k.name)) for k in kpis))
             for kind, kpis in KPIS_BY_KIND.items()}
    for kind in ("site", "gnb"):
        kinds[kind] = KindDecl()
    return Catalogue(name="5g-ran-core", kinds=kinds)


def _unit(name: str) -> str:
    for suffix, unit in (("_ms", "ms"), ("_ratio", "ratio"), ("_mbps", "Mbit/s"), ("_per_s", "1/s")):
        if name.endswith(suffix):
            return unit
    return ""
