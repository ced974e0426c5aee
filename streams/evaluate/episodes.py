"""Labelled episodes from the simulator, seen through the default detector set: what the loop learns from.

Faults start in groups (one fault, or two at once) every few ticks on one
network, at random roots and severities. At each group's second tick the
KPIs the default detector set flagged in both ticks (the tracker's
persistence rule) are the evidence, with their scores, values and baselines;
then the detectors are put back as they were before the group, because in
the loop's world faults are rare: detectors that learned a fault every six
ticks would have tails no real detector has.
From single faults of one seed come the symptom profiles and the fault-type
classifier; from another seed, the loop's ranking weights; pairs of
simultaneous faults of a third calibrate the incident confidence; a fourth
seed is held out and only scored. Hardware failures (no tool fixes them, so
they are no root-cause profile) are simulated apart, on a fifth seed for
the classifier and a sixth held out. Each episode keeps the alarms standing
when its evidence is taken: equipment announces hard failures, and the
classifier learns what that says. ``netloop episodes`` writes it all to the
package data the loop reads.

The world is ``realism: ideal`` unless asked otherwise (``world="realistic"``):
the shipped profiles, ranking weights and calibration were made there. The
classifier learns in the realistic world (``typing_world``): there a fault's
symptoms vary, a ramp shows one KPI first, and an alarm comes 0–3 ticks
late, so a dark cell with no alarm yet is far likelier an outage than failed
hardware — what the classifier must know to name hardware only when its
alarm stands.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

import detectors
from actuators import PolicyTable
from detectors import FaultTypeClassifier, OnsetFilter, TopologyGraph, default_filter, directions_of, localize
from detectors import signature_features as features_of
from detectors.alarms import ActiveAlarms
from detectors.classifier import EPISODES_FILE, gone_dark
from detectors.fitting import Case, fit_model, ranks
from detectors.localizer import Observed, Seen, candidate_features
from detectors.profiles import SymptomProfiles, fit_profiles
from detectors.ranking import RankingModel
from schemas import AlarmEvent, EntityKind, kpi_names
from simulator import CATALOGUE, FAULT_TYPES, Network, PlannedFault, Scenario, Topology

_GAP = 6  # ticks from one group's start to the next: 2 faulty, 4 for the baselines to settle
_WARMUP = 120
LOOP_FEATURES = ("peak", "breadth", "share", "relative", "first", "blame", "profile")
_TYPES = sorted(f.name for f in CATALOGUE)
HARDWARE = ("hardware_failure",)


class FaultEpisode(NamedTuple):
    """One group of simulated faults, the evidence the detectors gave, and the alarms standing then."""

    faults: list[PlannedFault]
    evidence: dict[str, dict[str, Seen]]
    alarms: dict[str, frozenset[str]]


Seen_ = list[FaultEpisode]


def _scenario(seed: int, groups: list[list[str]], severity: tuple[float, float], sites: int,
              world: str) -> Scenario:
    rng = np.random.default_rng(seed)
    roots = _roots(groups, seed, sites)
    faults = [{"type": t, "at": _WARMUP + i * _GAP, "duration": 2,
               "severity": round(float(rng.uniform(*severity)), 3), **roots.get((i, j), {})}
              for i, g in enumerate(groups) for j, t in enumerate(g)]
    return Scenario.model_validate({
        "name": "episodes", "seed": seed, "ticks": _WARMUP + len(groups) * _GAP, "warmup_ticks": _WARMUP,
        "topology": {"sites": sites, "cells_per_site": 3, "upf": 2, "smf": 2, "amf": 2}, "faults": faults,
        "realism": world})


def _roots(groups: list[list[str]], seed: int, sites: int) -> dict[tuple[int, int], dict[str, str]]:
    """Targets for the fault types with more than one kind of root (failed hardware: a cell or an NF),
    each kind as likely, drawn from a stream of their own so that no other episode changes."""
    rng = np.random.default_rng([seed, 4])
    topo = Topology.build(sites=sites, cells_per_site=3, upf=2, smf=2, amf=2)
    out = {}
    for i, g in enumerate(groups):
        for j, t in enumerate(g):
            kinds = FAULT_TYPES[t].root_kinds
            if len(kinds) > 1:
                out[(i, j)] = {"target": str(rng.choice(topo.ids[kinds[int(rng.integers(len(kinds)))]]))}
    return out


def simulated_faults(*, seed: int = 0, per_type: int = 60, severity: tuple[float, float] = (0.15, 1.0),
                     pairs: bool = False, sites: int = 16, world: str = "ideal",
                     types: Sequence[str] = tuple(_TYPES)) -> tuple[TopologyGraph, Seen_]:
    """The topology, and each group of simulated faults with the evidence the detectors saw (if any).

    ``per_type`` faults of each of ``types`` (default: the fixable ones) start one at a time, or,
    with ``pairs``, two at a time (the second of a random type).
    """
    rng = np.random.default_rng(seed)
    drawn = [t for t in types for _ in range(per_type)]
    rng.shuffle(drawn)
    groups = [[t, str(rng.choice(list(types)))] if pairs else [t] for t in drawn]
    net = Network.from_scenario(_scenario(seed, groups, severity, sites, world))
    filters = {k: default_filter(directions_of(k)) for k in net.models}
    starts: dict[int, list[PlannedFault]] = {}
    for p in net.plan:
        starts.setdefault(p.at + 1, []).append(p)
    previous: dict[EntityKind, tuple[np.ndarray, np.ndarray]] = {}
    seen: Seen_ = []
    healthy: dict[EntityKind, OnsetFilter] | None = None
    alarms = ActiveAlarms()
    while not net.done:
        if net.tick + 2 in starts:  # the detectors as they are before the group's faulty frames
            healthy = copy.deepcopy(filters)
        net.step()
        for notice in net.notices():
            if isinstance(notice, AlarmEvent):
                alarms.note(notice)
        now = {}
        for k, f in filters.items():
            scores, flags = f.step(net.latest[k])
            now[k] = (scores, flags, f.expected())
        group = starts.get(net.tick - 1)
        if group is not None:
            if evidence := _persistent(net, now, previous):
                seen.append(FaultEpisode(group, evidence, {e: alarms.causes(e) for e in alarms}))
            if healthy is not None:  # forget the faults: faults here come every few ticks, not rarely
                filters, healthy = healthy, None
        previous = {k: (s, fl) for k, (s, fl, _) in now.items()}
    return TopologyGraph(net.topology_records()), seen


def kpi_sets(observed: Observed) -> dict[str, set[str]]:
    """Entity → the names of its anomalous KPIs."""
    return {e: set(kpis) for e, kpis in observed.items()}


def labelled_episodes(*, seed: int = 0, per_type: int = 60, world: str = "ideal",
                      types: Sequence[str] = tuple(_TYPES)) -> tuple[np.ndarray, list[str]]:
    """Features of the true root and fault type of every single simulated fault the detectors saw."""
    graph, seen = simulated_faults(seed=seed, per_type=per_type, world=world, types=types)
    return _classifier_data(graph, seen)


def _classifier_data(graph: TopologyGraph, seen: Seen_) -> tuple[np.ndarray, list[str]]:
    X = [features_of(g[0].target, kpi_sets(ev), graph, al, gone_dark(ev)) for g, ev, al in seen]
    return np.stack(X), [g[0].type for g, _, _ in seen]


def learned_profiles(graph: TopologyGraph, seen: Seen_) -> SymptomProfiles:
    """Symptom profiles of the single faults in ``seen``."""
    return fit_profiles(((g[0].target, g[0].type, kpi_sets(ev)) for g, ev, _ in seen), graph)


def ranking_cases(graph: TopologyGraph, seen: Seen_, profiles: SymptomProfiles) -> list[Case]:
    """One case per single fault whose root is among the candidates: its candidates' features."""
    out = []
    for g, ev, _ in seen:
        names, F = candidate_features(ev, graph, profiles)
        if g[0].target in names:
            out.append(Case(F, names.index(g[0].target)))
    return out


def calibration_findings(classifier: FaultTypeClassifier, *, seed: int = 1, per_type: int = 30,
                         model: RankingModel | None = None, profiles: SymptomProfiles | None = None,
                         world: str = "ideal") -> tuple[list[float], list[bool]]:
    """Raw confidence of every finding on pairs of simultaneous faults, and whether it was right."""
    graph, seen = simulated_faults(seed=seed, per_type=per_type, severity=(0.1, 1.0), pairs=True, sites=8,
                                   world=world)
    raw, right = [], []
    for group, evidence, alarms in seen:
        truth = {(p.target, p.type) for p in group}
        for f in localize(evidence, graph, model=model, profiles=profiles):
            fault_type, _ = classifier.classify(f.best.entity_id, kpi_sets(evidence), graph, alarms,
                                                gone_dark(evidence), unremedied(classifier))
            raw.append(f.confidence)
            right.append((f.best.entity_id, fault_type) in truth)
    return raw, right


@dataclass(frozen=True)
class LoopLearning:
    """Everything the loop learns from one seed's episodes, and how it does on a held-out seed."""

    profiles: SymptomProfiles
    model: RankingModel
    classifier_X: np.ndarray
    classifier_y: list[str]
    calibration: tuple[list[float], list[bool]]
    held_out: dict[str, float]


def learn_loop(*, seed: int = 0, per_type: int = 60, world: str = "ideal",
               typing_world: str = "realistic") -> LoopLearning:
    """Profiles from seed ``seed``, ranking weights from ``seed + 1``, the calibration from pairs of
    ``seed + 2``, all in ``world``; the classifier from twice ``per_type`` single faults of ``seed``
    and hardware failures of ``seed + 4`` in ``typing_world``. Localization is scored on single faults
    of ``seed + 3``, typing on those of ``seed + 3`` and hardware failures of ``seed + 5`` in
    ``typing_world``."""
    half = max(1, per_type // 2)
    graph, seen = simulated_faults(seed=seed, per_type=per_type, world=world)
    profiles = learned_profiles(graph, seen)
    X, y = _typing_data(seed, 2 * per_type, typing_world)  # the early, partial looks of a fault are rare
    g1, s1 = simulated_faults(seed=seed + 1, per_type=per_type, world=world)
    model = fit_model(ranking_cases(g1, s1, profiles), features=LOOP_FEATURES)
    classifier = FaultTypeClassifier().fit(X, y)
    calibration = calibration_findings(classifier, seed=seed + 2, per_type=half, model=model,
                                       profiles=profiles, world=world)
    g3, s3 = simulated_faults(seed=seed + 3, per_type=half, world=world)
    r = ranks(ranking_cases(g3, s3, profiles), model)
    held = {"faults": len(s3), "top1": round(float((r <= 1).sum() / max(len(s3), 1)), 3),
            "top3": round(float((r <= 3).sum() / max(len(s3), 1)), 3),
            **_typing_held_out(classifier, seed, half, typing_world)}
    return LoopLearning(profiles, model, X, y, calibration, held)


def unremedied(classifier: FaultTypeClassifier) -> frozenset[str]:
    """The types the built-in policies fix none of: the classifier names them as the loop has it
    (:func:`streams.runtime.embedded.loop_stages`), only on their announcement."""
    return classifier.types - PolicyTable.default().fault_types()


def _typing_data(seed: int, per_type: int, world: str) -> tuple[np.ndarray, list[str]]:
    """The classifier's training data: single fixable faults of ``seed``, hardware failures of
    ``seed + 4``."""
    X, y = _classifier_data(*simulated_faults(seed=seed, per_type=per_type, world=world))
    hardware = simulated_faults(seed=seed + 4, per_type=per_type, world=world, types=HARDWARE)
    Xh, yh = _classifier_data(*hardware)
    return np.vstack([X, Xh]), [*y, *yh]


def _typing_held_out(classifier: FaultTypeClassifier, seed: int, per_type: int, world: str
                     ) -> dict[str, float]:
    """Typing scored on faults of seeds it was not fitted on (``seed + 3``, hardware ``seed + 5``)."""
    g3, s3 = simulated_faults(seed=seed + 3, per_type=per_type, world=world)
    g5, s5 = simulated_faults(seed=seed + 5, per_type=per_type, world=world, types=HARDWARE)
    n = len(s3) + len(s5)
    right = typing_accuracy(classifier, g3, s3) * len(s3) + typing_accuracy(classifier, g5, s5) * len(s5)
    return {"typed": round(right / max(n, 1), 3), "typed_faults": n}


def typing_accuracy(classifier: FaultTypeClassifier, graph: TopologyGraph, seen: Seen_) -> float:
    """The share of single faults in ``seen`` the classifier types right on their true root."""
    handed_over = unremedied(classifier)
    right = [classifier.classify(g[0].target, kpi_sets(ev), graph, al, gone_dark(ev), handed_over)[0]
             == g[0].type for g, ev, al in seen]
    return sum(right) / max(len(right), 1)


def _persistent(net: Network, now: dict[EntityKind, tuple[np.ndarray, np.ndarray, np.ndarray]],
                previous: dict[EntityKind, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict[str, Seen]]:
    """Entity → KPI → what was seen, for the KPIs flagged at this tick and the one before."""
    out: dict[str, dict[str, Seen]] = {}
    for kind, (scores, flags, expected) in now.items():
        before_scores, before = previous[kind]
        rows, cols = np.nonzero(flags & before)
        ids, names, values = net.topology.ids[kind], kpi_names(kind), net.latest[kind]
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            out.setdefault(ids[i], {})[names[j]] = Seen(
                onset=net.tick - 1, score=round(float(max(scores[i, j], before_scores[i, j])), 3),
                value=float(values[i, j]), expected=float(expected[i, j]))
    return out


def default_episodes_path() -> Path:
    """Where the shipped episodes live in the source tree."""
    return Path(detectors.__file__).parent / "data" / EPISODES_FILE


def write_episodes(path: Path, *, seed: int = 0, per_type: int = 60, ranking: Path | None = None,
                   world: str = "ideal", typing_world: str = "realistic") -> LoopLearning:
    """Learn from episodes; write the classifier's data and the calibration to ``path``, and the loop's
    profiles and ranking weights into the ranking file ``ranking`` (its other models are kept)."""
    learned = learn_loop(seed=seed, per_type=per_type, world=world, typing_world=typing_world)
    raw, right = learned.calibration
    payload = {"seed": seed, "per_type": per_type, "typing_world": typing_world,
               "labels": learned.classifier_y, "features": np.round(learned.classifier_X, 4).tolist(),
               "calibration": {"raw": [round(r, 4) for r in raw], "right": right}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    if ranking is not None:
        data = json.loads(ranking.read_text()) if ranking.exists() else {"models": {}}
        data["models"]["loop"] = {"weights": dict(learned.model.weights), "seed": seed, "per_type": per_type,
                                  "held_out": learned.held_out}
        data["profiles"] = learned.profiles.to_json()
        ranking.parent.mkdir(parents=True, exist_ok=True)
        ranking.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return learned
