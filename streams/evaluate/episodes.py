"""Labelled episodes from the simulator, seen through the default detector set.

Faults start in groups (one fault, or two at once for calibration) every few
ticks on one network, at random roots and severities. At each group's second
tick the KPIs the default detector set flagged in both ticks (the tracker's
persistence rule) are the evidence. Single faults train the fault-type
classifier (features of the true root, its type); pairs calibrate the
incident confidence (each finding's raw confidence, and whether it named a
right root and type). ``netloop episodes`` writes both to the package data
the loop reads.

The world is ``realism: ideal`` unless asked otherwise (``world="realistic"``):
the shipped file was made there, and seed 0 still reproduces it. Only the fault
types the detectors' signature table knows are simulated.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import detectors
from detectors import FaultTypeClassifier, TopologyGraph, default_filter, directions_of, localize
from detectors import signature_features as features_of
from detectors.classifier import EPISODES_FILE
from schemas import EntityKind, kpi_names
from simulator import Network, PlannedFault, Scenario

_GAP = 6  # ticks from one group's start to the next: 2 faulty, 4 for the baselines to settle
_WARMUP = 120
_TYPES = sorted({s.fault_type for s in detectors.SIGNATURES})
Seen = list[tuple[list[PlannedFault], dict[str, set[str]]]]


def _scenario(seed: int, groups: list[list[str]], severity: tuple[float, float], sites: int,
              world: str) -> Scenario:
    rng = np.random.default_rng(seed)
    faults = [{"type": t, "at": _WARMUP + i * _GAP, "duration": 2,
               "severity": round(float(rng.uniform(*severity)), 3)} for i, g in enumerate(groups) for t in g]
    return Scenario.model_validate({
        "name": "episodes", "seed": seed, "ticks": _WARMUP + len(groups) * _GAP, "warmup_ticks": _WARMUP,
        "topology": {"sites": sites, "cells_per_site": 3, "upf": 2, "smf": 2, "amf": 2}, "faults": faults,
        "realism": world})


def simulated_faults(*, seed: int = 0, per_type: int = 60, severity: tuple[float, float] = (0.15, 1.0),
                     pairs: bool = False, sites: int = 16, world: str = "ideal"
                     ) -> tuple[TopologyGraph, Seen]:
    """The topology, and each group of simulated faults with the evidence the detectors saw (if any).

    ``per_type`` faults of each type start one at a time, or, with ``pairs``,
    two at a time (the second of a random type).
    """
    rng = np.random.default_rng(seed)
    types = [t for t in _TYPES for _ in range(per_type)]
    rng.shuffle(types)
    groups = [[t, str(rng.choice(_TYPES))] if pairs else [t] for t in types]
    net = Network.from_scenario(_scenario(seed, groups, severity, sites, world))
    filters = {k: default_filter(directions_of(k), warmup=_WARMUP // 2) for k in net.models}
    starts: dict[int, list[PlannedFault]] = {}
    for p in net.plan:
        starts.setdefault(p.at + 1, []).append(p)
    previous: dict[EntityKind, np.ndarray] = {}
    seen: Seen = []
    while not net.done:
        net.step()
        flags = {k: f.step(net.latest[k])[1] for k, f in filters.items()}
        group = starts.get(net.tick - 1)
        if group is not None and (evidence := _persistent(net, flags, previous)):
            seen.append((group, evidence))
        previous = flags
    return TopologyGraph(net.topology_records()), seen


def labelled_episodes(*, seed: int = 0, per_type: int = 60,
                      world: str = "ideal") -> tuple[np.ndarray, list[str]]:
    """Features of the true root and fault type of every single simulated fault the detectors saw."""
    graph, seen = simulated_faults(seed=seed, per_type=per_type, world=world)
    return (np.stack([features_of(g[0].target, evidence, graph) for g, evidence in seen]),
            [g[0].type for g, _ in seen])


def calibration_findings(classifier: FaultTypeClassifier, *, seed: int = 1, per_type: int = 30,
                         world: str = "ideal") -> tuple[list[float], list[bool]]:
    """Raw confidence of every finding on pairs of simultaneous faults, and whether it was right."""
    graph, seen = simulated_faults(seed=seed, per_type=per_type, severity=(0.1, 1.0), pairs=True, sites=8,
                                   world=world)
    raw, right = [], []
    for group, evidence in seen:
        truth = {(p.target, p.type) for p in group}
        for f in localize(evidence, graph):
            fault_type, _ = classifier.classify(f.best.entity_id, evidence, graph)
            raw.append(f.confidence)
            right.append((f.best.entity_id, fault_type) in truth)
    return raw, right


def _persistent(net: Network, flags: dict[EntityKind, np.ndarray],
                previous: dict[EntityKind, np.ndarray]) -> dict[str, set[str]]:
    """Entity → KPIs flagged at this tick and the one before."""
    out: dict[str, set[str]] = {}
    for kind, now in flags.items():
        rows, cols = np.nonzero(now & previous[kind])
        ids, names = net.topology.ids[kind], kpi_names(kind)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            out.setdefault(ids[i], set()).add(names[j])
    return out


def default_episodes_path() -> Path:
    """Where the shipped episodes live in the source tree."""
    return Path(detectors.__file__).parent / "data" / EPISODES_FILE


def write_episodes(path: Path, *, seed: int = 0, per_type: int = 60, world: str = "ideal") -> tuple[int, int]:
    """Generate episodes and calibration findings, write them as JSON; return how many of each."""
    X, y = labelled_episodes(seed=seed, per_type=per_type, world=world)
    raw, right = calibration_findings(FaultTypeClassifier().fit(X, y), seed=seed + 1,
                                      per_type=max(1, per_type // 2), world=world)
    payload = {"seed": seed, "per_type": per_type, "labels": y, "features": np.round(X, 4).tolist(),
               "calibration": {"raw": [round(r, 4) for r in raw], "right": right}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    return len(y), len(raw)
