"""Turning a scenario's faults and benign events (explicit and random) into concrete plans."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.events import PlannedEvent, plan_events
from simulator.faults import FAULT_TYPES
from simulator.scenario import Scenario, ScenarioError
from simulator.topology import Topology


@dataclass(frozen=True)
class PlannedFault:
    """A fault with its target resolved: type, root entity, start, duration, severity.

    ``recurs`` is the id of the fault this one brings back (a fixed fault that returns).
    """

    type: str
    target: str
    at: int
    duration: int | None
    severity: float
    recurs: str | None = None


def plan_faults(scenario: Scenario, topo: Topology, rng: np.random.Generator) -> list[PlannedFault]:
    """Resolve explicit and random faults into a list sorted by start tick.

    Raises
    ------
    ScenarioError
        When a target does not exist or is of the wrong kind, or the random
        faults do not fit between warm-up and the end with ``min_gap``.
    """
    planned = [_explicit(i, f, topo, rng) for i, f in enumerate(scenario.faults)]
    if scenario.random_faults and scenario.random_faults.count:
        planned += _random(scenario, topo, rng)
    return sorted(planned, key=lambda p: p.at)


def plan_benign(scenario: Scenario, topo: Topology, rng: np.random.Generator) -> list[PlannedEvent]:
    """Resolve the scenario's explicit and random benign events.

    Raises
    ------
    ScenarioError
        When a target does not exist or is of a kind the event cannot have.
    """
    try:
        return plan_events(scenario.events, scenario.random_events, warmup=scenario.warmup_ticks,
                           ticks=scenario.ticks, topo=topo, rng=rng)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None


def validate_scenario(scenario: Scenario) -> None:
    """Check what field validation cannot: that fault and event targets exist and random faults fit.

    Raises
    ------
    ScenarioError
        Naming the field, as :func:`plan_faults` would when the network is built.
    """
    t = scenario.topology
    topo = Topology.build(sites=t.sites, cells_per_site=t.cells_per_site, upf=t.upf, smf=t.smf,
                          amf=t.amf)
    plan_faults(scenario, topo, np.random.default_rng(scenario.seed))
    plan_benign(scenario, topo, np.random.default_rng([scenario.seed, 2]))


def _explicit(i: int, f, topo: Topology, rng: np.random.Generator) -> PlannedFault:
    try:
        target = topo.resolve(f.target, FAULT_TYPES[f.type].root_kinds, field=f"faults.{i}.target",
                              what=f.type, rng=rng)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    return PlannedFault(f.type, target, f.at, f.duration, f.severity)


def _random(scenario: Scenario, topo: Topology, rng: np.random.Generator) -> list[PlannedFault]:
    spec = scenario.random_faults
    assert spec is not None
    span = scenario.ticks - scenario.warmup_ticks
    slot = span // spec.count
    if slot <= spec.min_gap:
        raise ScenarioError(
            f"random_faults.count: {spec.count} faults with min_gap {spec.min_gap} do not fit in the "
            f"{span} ticks between warmup_ticks and ticks")
    out = []
    for i in range(spec.count):
        fault_type = str(rng.choice(spec.types))
        at = scenario.warmup_ticks + i * slot + int(rng.integers(0, slot - spec.min_gap))
        duration = None
        if spec.duration is not None:
            duration = int(rng.integers(spec.duration[0], spec.duration[1] + 1))
        target = str(rng.choice(topo.ids[FAULT_TYPES[fault_type].root_kind]))
        severity = float(rng.uniform(*spec.severity))
        out.append(PlannedFault(fault_type, target, at, duration, round(severity, 3)))
    return out
