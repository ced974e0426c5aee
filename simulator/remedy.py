"""How a tool call meets the faults: whether its parameters suffice, how long recovery takes, what it costs.

A call fixes a fault only on its root, only with the fault type's tool, and
(with ``realism.parameters``) only as far as its parameters reach what the
episode needs: an offload ratio at least the excess load's share, enough UPF
instances, a tilt within 1° of the planned one (within 3°: part of the way),
and an alternative path with headroom under ``max_utilization_ratio``. A
partial fix lowers the fault's level; a later call with enough reach ends it.
Recovery takes ``realism.recovery_ticks`` after a delay (a scale-out's
instances come up in 2–5 ticks, a restart takes 1–3). A reroute or failover
loads the alternative path (the next site's backhaul) until rolled back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from schemas import EntityKind
from simulator.episode import Episode
from simulator.faults import UTIL, Effect, Matrices
from simulator.realism import Realism

SERVER_DEFAULTS: dict[str, float] = {"offload_ratio": 0.2, "instances": 1, "tilt_deg": 4.0,
                                     "mechanical_tilt_deg": 0.0, "max_utilization_ratio": 0.8,
                                     "drain_s": 60}


def _param(params: Mapping[str, Any], name: str) -> float:
    value = params.get(name)
    return float(SERVER_DEFAULTS[name] if value is None else value)


def adequacy(ep: Episode, params: Mapping[str, Any], realism: Realism, *, latest: Matrices,
             link: int | None, alternative: int | None) -> float:
    """Share of the fault a call with ``params`` takes away, in [0, 1]."""
    need = ep.type.need
    if not realism.parameters or need is None:
        return 1.0
    if need == "offload_ratio":
        return min(1.0, _param(params, "offload_ratio") / float(ep.need or 1.0))
    if need == "instances":
        return min(1.0, _param(params, "instances") / float(ep.need or 1.0))
    if need == "tilt_deg":
        off = abs(_param(params, "tilt_deg") + _param(params, "mechanical_tilt_deg") - float(ep.need or 0.0))
        return 1.0 if off <= 1.0 else max(0.0, (3.0 - off) / 2.0)
    if link is None or alternative is None:
        return 0.0  # a site with no neighbour has no alternative path
    links = latest[EntityKind.LINK]
    u_alt, u_this = float(links[alternative, UTIL]), float(links[link, UTIL])
    return float(np.clip((_param(params, "max_utilization_ratio") - u_alt) * 2.0 / max(u_this, 0.05), 0, 1))


def delay_ticks(tool: str, params: Mapping[str, Any], realism: Realism, rng: np.random.Generator) -> int:
    """Ticks before a right call starts to help."""
    if not realism.side_effects:
        return 0
    if tool == "scale_out_upf":
        return int(rng.integers(2, 6))
    if tool in ("restart_amf", "restart_smf"):
        return 1 if _param(params, "drain_s") >= 30 else 3
    if tool == "restart_cell":
        return 1
    return 0


@dataclass(frozen=True)
class Cost:
    """A change a right call leaves in the network: its effect, on which rows, until when."""

    effect: Effect
    root: int
    cells: np.ndarray
    ticks: int | None  # None: until rolled back


def right_call_costs(tool: str, params: Mapping[str, Any], realism: Realism, *, latest: Matrices,
                     share: float, link: int | None, alternative: int | None,
                     restart: Effect | None, cells: np.ndarray, index: int) -> list[Cost]:
    """What a right call costs besides fixing: the alternative path's extra load, a restart's blip."""
    if not realism.side_effects:
        return []
    if tool in ("reroute_link", "failover_link") and link is not None and alternative is not None:
        moved = float(latest[EntityKind.LINK][link, UTIL]) * (1.0 if tool == "failover_link" else share) / 2.0
        return [Cost(_loads(alternative, moved), alternative, np.zeros(0, dtype=int), None)]
    if restart is not None and tool in ("restart_amf", "restart_smf"):
        return [Cost(restart, index, cells, 1 if _param(params, "drain_s") >= 30 else 3)]
    return []


def _loads(alternative: int, moved: float) -> Effect:
    def effect(v: Matrices, cells: np.ndarray, root: int, s: float) -> None:
        v[EntityKind.LINK][alternative, UTIL] += moved
    return effect
