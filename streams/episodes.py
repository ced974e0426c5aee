"""Labelled episodes for the fault-type classifier: simulated faults, seen through the default detectors.

One network (16 sites) runs a long scenario of short faults of every type,
at random roots and severities, one at a time. At each fault's second tick
the KPIs the default detector set flagged in both ticks (the tracker's
persistence rule) are the evidence; the features of the true root are one
episode, its fault type the label. ``netloop episodes`` writes them to the
package data the classifier is fitted from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import detectors
from detectors import TopologyGraph, default_filter, directions_of, signature_features
from detectors.classifier import EPISODES_FILE
from schemas import EntityKind, kpi_names
from simulator import FAULT_TYPES, Network, PlannedFault, Scenario

_GAP = 6  # ticks from one fault's start to the next: 2 faulty, 4 for the baselines to settle


def _scenario(seed: int, per_type: int, warmup: int, severity: tuple[float, float]) -> Scenario:
    rng = np.random.default_rng(seed)
    types = [t for t in sorted(FAULT_TYPES) for _ in range(per_type)]
    rng.shuffle(types)
    faults = [{"type": t, "at": warmup + i * _GAP, "duration": 2,
               "severity": round(float(rng.uniform(*severity)), 3)} for i, t in enumerate(types)]
    return Scenario.model_validate({
        "name": "episodes", "seed": seed, "ticks": warmup + len(faults) * _GAP, "warmup_ticks": warmup,
        "topology": {"sites": 16, "cells_per_site": 3, "upf": 2, "smf": 2, "amf": 2}, "faults": faults})


def simulated_faults(*, seed: int = 0, per_type: int = 60, warmup: int = 120,
                     severity: tuple[float, float] = (0.15, 1.0)
                     ) -> tuple[TopologyGraph, list[tuple[PlannedFault, dict[str, set[str]]]]]:
    """The topology, and each simulated fault with the evidence the detectors saw (if they saw any)."""
    net = Network.from_scenario(_scenario(seed, per_type, warmup, severity))
    filters = {k: default_filter(directions_of(k), warmup=warmup // 2) for k in net.models}
    starts = {p.at + 1: p for p in net.plan}
    previous: dict[EntityKind, np.ndarray] = {}
    seen = []
    while not net.done:
        net.step()
        flags = {k: f.step(net.latest[k])[1] for k, f in filters.items()}
        fault = starts.get(net.tick - 1)
        if fault is not None and (evidence := _persistent(net, flags, previous)):
            seen.append((fault, evidence))
        previous = flags
    return TopologyGraph(net.topology_records()), seen


def labelled_episodes(*, seed: int = 0, per_type: int = 60) -> tuple[np.ndarray, list[str]]:
    """Features of the true root and fault type of every simulated fault the detectors saw."""
    graph, seen = simulated_faults(seed=seed, per_type=per_type)
    features = [signature_features(fault.target, evidence, graph) for fault, evidence in seen]
    return np.stack(features), [fault.type for fault, _ in seen]


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


def write_episodes(path: Path, *, seed: int = 0, per_type: int = 60) -> int:
    """Generate episodes and write them as JSON (features rounded to 4 digits); return how many."""
    X, y = labelled_episodes(seed=seed, per_type=per_type)
    payload = {"seed": seed, "per_type": per_type, "labels": y,
               "features": np.round(X, 4).tolist()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    return len(y)
