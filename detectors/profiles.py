"""What each fault type looks like, learned from labelled episodes: symptom profiles.

For every fault type seen in the episodes, on roots of one kind, a profile
holds the share of episodes in which each of the root's own KPIs was
anomalous, and, for every kind of entity that depends on the root (cells
behind a link, links and cells behind an NF), the share of those entities on
which each KPI was anomalous. The background is the same share on entities
the fault could not reach: the detectors' false alarms. Nothing here is
written by hand or read from the simulator; ``netloop episodes`` fits it.

A profile scores a candidate root by the log-likelihood ratio of what is
anomalous on it and behind it, under the fault against the background (a
naive Bayes over KPIs and dependent entities), and says which anomalies the
fault explains: those KPIs it makes at least twice as likely as the
background and at least one time in ten.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from math import log

import numpy as np

from detectors.graph import TopologyGraph
from schemas import OBSERVABLE_KINDS, EntityKind, kpi_names

_KPIS = {k: kpi_names(k) for k in OBSERVABLE_KINDS}

_CLIP = 1e-4
Anomalous = Mapping[str, AbstractSet[str]]  # entity -> anomalous KPIs


@dataclass(frozen=True)
class Profile:
    """One fault type on roots of one kind: P(KPI anomalous) on the root and on what depends on it."""

    fault_type: str
    root_kind: EntityKind
    root: Mapping[str, float]
    reach: Mapping[EntityKind, Mapping[str, float]]


@dataclass(frozen=True)
class SymptomProfiles:
    """The learned profiles and the background rate of each KPI per kind."""

    profiles: tuple[Profile, ...]
    background: Mapping[EntityKind, Mapping[str, float]]

    def of_kind(self, kind: EntityKind) -> tuple[Profile, ...]:
        return tuple(p for p in self.profiles if p.root_kind == kind)

    def fault_types(self, kind: EntityKind) -> frozenset[str]:
        """The fault types the episodes showed on roots of ``kind``."""
        return frozenset(p.fault_type for p in self.of_kind(kind))

    def log_likelihood_ratio(self, profile: Profile, own: AbstractSet[str],
                             behind: Mapping[EntityKind, tuple[int, Counter]]) -> float:
        """log P(evidence | fault) − log P(evidence | background), for the root's own anomalous KPIs
        and, per kind, (how many entities depend on it, how many of them show each KPI)."""
        total = sum(_term(p, self._bg(profile.root_kind, k), k in own) for k, p in profile.root.items())
        for kind, probs in profile.reach.items():
            n, hits = behind.get(kind, (0, Counter()))
            for k, p in probs.items():
                b = self._bg(kind, k)
                total += hits[k] * _term(p, b, True) + (n - hits[k]) * _term(p, b, False)
        return total

    def llr_matrix(self, kind: EntityKind, roots: list[str], own: Callable[[str], AbstractSet[str]],
                   behind: Callable[[str, EntityKind], tuple[int, Counter]]) -> np.ndarray:
        """:meth:`log_likelihood_ratio` of every root of ``kind`` (rows) under each of ``of_kind(kind)``
        (columns), in one product per kind of dependent: ``own(root)`` are its anomalous KPIs,
        ``behind(root, k)`` as in :func:`behind_counts`."""
        profiles = self.of_kind(kind)
        names = _KPIS[kind]
        seen = np.array([[k in own(r) for k in names] for r in roots], dtype=float)
        hit, miss = self._log_terms(profiles, kind, "root")
        total = seen @ (hit - miss).T + miss.sum(axis=1)
        for dep in {d for p in profiles for d in p.reach}:
            hit, miss = self._log_terms(profiles, dep, dep)
            counts = [behind(r, dep) for r in roots]
            n = np.array([c[0] for c in counts], dtype=float)
            H = np.array([[c[1][k] for k in _KPIS[dep]] for c in counts], dtype=float)
            total += H @ (hit - miss).T + n[:, None] * miss.sum(axis=1)
        return total

    def _log_terms(self, profiles: tuple[Profile, ...], kind: EntityKind, where: str | EntityKind
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Per profile × KPI of ``kind``: log(p/b) and log((1-p)/(1-b)); 0 where a profile has no share."""
        names = _KPIS[kind]
        b = np.array([self._bg(kind, k) for k in names])
        p = np.array([[(pr.root if where == "root" else pr.reach.get(kind, {})).get(k, np.nan) for k in names]
                      for pr in profiles])
        known = ~np.isnan(p)
        p = np.where(known, p, 0.5)
        return (np.where(known, np.log(p / b), 0.0), np.where(known, np.log((1 - p) / (1 - b)), 0.0))

    def explains(self, profile: Profile, kind: EntityKind, kpi: str, *, on_root: bool) -> bool:
        """Whether the fault makes this KPI anomalous (on the root, or on an entity of ``kind`` behind it)."""
        p = (profile.root if on_root else profile.reach.get(kind, {})).get(kpi, 0.0)
        return p >= 0.1 and p >= 2.0 * self._bg(kind, kpi)

    def _bg(self, kind: EntityKind, kpi: str) -> float:
        return self.background.get(kind, {}).get(kpi, _CLIP)

    def to_json(self) -> dict:
        return {"profiles": [_profile_json(p) for p in self.profiles],
                "background": {k.value: dict(v) for k, v in self.background.items()}}

    @classmethod
    def from_json(cls, data: Mapping) -> SymptomProfiles:
        profiles = tuple(Profile(p["fault_type"], EntityKind(p["root_kind"]), p["root"],
                                 {EntityKind(k): v for k, v in p["reach"].items()}) for p in data["profiles"])
        return cls(profiles, {EntityKind(k): v for k, v in data["background"].items()})


def behind_counts(root: str, anomalous: Anomalous, graph: TopologyGraph
                  ) -> dict[EntityKind, tuple[int, Counter]]:
    """Per kind: how many entities depend on ``root``, and how many of them show each KPI."""
    out: dict[EntityKind, tuple[int, Counter]] = {}
    for kind in OBSERVABLE_KINDS:
        n = graph.reach_count(root, kind)
        if n:
            out[kind] = (n, Counter())
    reach = graph.reach(root)
    for e, kpis in anomalous.items():
        if e in reach:
            out[graph.kind(e)][1].update(kpis)
    return out


def fit_profiles(episodes: Iterable[tuple[str, str, Anomalous]], graph: TopologyGraph) -> SymptomProfiles:
    """Profiles from ``(root, fault type, anomalous)`` episodes of single faults on ``graph``.

    Shares are smoothed (one anomalous and one quiet pseudo-observation each)
    and kept within [1e-4, 1 − 1e-4].
    """
    root_hits: dict[tuple[str, EntityKind], list] = {}
    reach_hits: dict[tuple[str, EntityKind], dict[EntityKind, list]] = {}
    bg: dict[EntityKind, list] = {k: [Counter(), 0] for k in OBSERVABLE_KINDS}
    for root, fault_type, anomalous in episodes:
        kind = graph.kind(root)
        r = root_hits.setdefault((fault_type, kind), [Counter(), 0])
        r[0].update(anomalous.get(root, ()))
        r[1] += 1
        per_kind = reach_hits.setdefault((fault_type, kind), {})
        for k, (n, hits) in behind_counts(root, anomalous, graph).items():
            acc = per_kind.setdefault(k, [Counter(), 0])
            acc[0].update(hits)
            acc[1] += n
        _background(bg, root, anomalous, graph)
    profiles = tuple(
        Profile(t, kind, _shares(*root_hits[(t, kind)], kind),
                {k: _shares(hits, n, k) for k, (hits, n) in reach_hits[(t, kind)].items()})
        for t, kind in sorted(root_hits, key=lambda x: (x[1].value, x[0])))
    return SymptomProfiles(profiles, {k: _shares(hits, n, k) for k, (hits, n) in bg.items() if n})


def _background(bg: dict[EntityKind, list], root: str, anomalous: Anomalous, graph: TopologyGraph) -> None:
    """Count anomalies on the entities the fault could not have reached (neither it, behind it, nor above)."""
    related = {root} | graph.reach(root) | graph.upstream_of(root)
    for kind in OBSERVABLE_KINDS:
        bg[kind][1] += graph.count(kind) - sum(graph.kind(e) == kind for e in related)
    for e, kpis in anomalous.items():
        if e not in related and e in graph:
            bg[graph.kind(e)][0].update(kpis)


def _profile_json(p: Profile) -> dict:
    return {"fault_type": p.fault_type, "root_kind": p.root_kind.value, "root": dict(p.root),
            "reach": {k.value: dict(v) for k, v in p.reach.items()}}


def _shares(hits: Counter, n: int, kind: EntityKind) -> dict[str, float]:
    return {k: round(min(1 - _CLIP, max(_CLIP, (hits[k] + 1) / (n + 2))), 6) for k in _KPIS[kind]}


def _term(p: float, b: float, hit: bool) -> float:
    return log(p / b) if hit else log((1 - p) / (1 - b))
