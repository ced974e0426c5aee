"""What each tool takes, as data: its parameters, the kind of entity its target is, and the ranges.

A policy names tools and their arguments; :func:`tool_shapes` is what it is checked against when it
is loaded (``streams`` hands it to :mod:`actuators.catalogue`), so a rule whose tool acts on another
kind of entity than its fault's root, or sets a parameter outside its range, never loads.

>>> shapes = tool_shapes()
>>> shapes["restart_amf"].target, sorted(shapes["restart_amf"].kinds)
('amf_id', ['amf'])
>>> shapes["set_antenna_tilt"].ranges["tilt_deg"]
(0, 15)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from netmcp import models, tools_act, tools_read
from netmcp.catalog import SPECS
from netmcp.constraints import Range

_KINDS_OF_TYPE: dict[Any, frozenset[str]] = {
    models.CellId: frozenset({"cell"}), models.LinkId: frozenset({"link"}), models.UpfId: frozenset({"upf"}),
    models.SmfId: frozenset({"smf"}), models.AmfId: frozenset({"amf"}),
    models.NfId: frozenset({"upf", "smf", "amf"}),
    models.EntityId: frozenset({"cell", "link", "gnb", "site", "upf", "smf", "amf"}),
}


@dataclass(frozen=True)
class ToolShape:
    """A tool's parameters; its target parameter and the entity kinds it accepts; ranges by parameter."""

    params: frozenset[str]
    target: str | None
    kinds: frozenset[str]
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)


def tool_shapes() -> dict[str, ToolShape]:
    """The shape of every tool of the catalogue."""
    functions = [*tools_read._read_tools(None), *tools_act._act_tools(None)]  # type: ignore[arg-type]
    return {fn.__name__: _shape(fn) for fn in functions if fn.__name__ in SPECS}


def _shape(fn: Any) -> ToolShape:
    hints = get_type_hints(fn, include_extras=True)
    params = [p for p in inspect.signature(fn).parameters if p != "ctx"]
    targets = [p for p in params if hints.get(p) in _KINDS_OF_TYPE]
    target = targets[0] if targets else None
    ranges = {c.param: (c.ge, c.le) for c in SPECS[fn.__name__].constraints if isinstance(c, Range)}
    return ToolShape(frozenset(params), target, _KINDS_OF_TYPE.get(hints.get(target), frozenset()), ranges)
