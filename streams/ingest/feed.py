"""An outside recording as the loop's records: its topology, its telemetry frames, and dead letters.

A recording (:mod:`streams.ingest.recordings`) is read twice: once to learn
what it holds (the (entity, KPI) series, its clock and its sampling
interval), once to turn its samples into frames (:class:`~streams.ingest.frames.FrameBuilder`).
Without a declared catalogue, one is inferred: a kind per entity-name prefix
(``IntGW-01`` → ``intgw``), each with the KPIs its entities report, bad in
both directions. The topology comes from a file, ``graph.json``
(``{"edges": [[upstream, downstream], ...]}``), or from the catalogue's
``ids`` ``parent`` groups; an entity of the topology that reports nothing
is kept as an unobserved one (kind ``other``), through which faults still
propagate.

The records come out in the order a live source would publish them: the
topology first, then each tick's frames, with every sample the builder
refused as a dead letter carrying its reason.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Literal

import yaml

from schemas import DeadLetter, TopologyEntity, topics
from schemas.catalogue import Catalogue, CatalogueError, KindDecl, KpiDecl, load_catalogue
from schemas.kpis import Direction
from streams.ingest.frames import FrameBuilder
from streams.ingest.mapping import Rules
from streams.ingest.pm import read_pm_file
from streams.ingest.recordings import RecordingError, read_recording
from streams.ingest.samples import Rejected, Sample, Tally
from streams.recording.files import Recorded

Format = Literal["csv", "long", "pm"]
"""Recording formats: wide CSV/TSV, long CSV/TSV, a folder (or file) of 3GPP PM XML files."""
OTHER_KIND = "other"
"""The kind of a topology entity that no kind of the catalogue matches: it reports nothing."""
MAX_TIMES = 100_000  # distinct sample times kept to estimate the interval
MAX_SERIES = 1_000_000


@dataclass(frozen=True)
class Survey:
    """What a first pass over a recording found: its series, first time, sampling interval and longest
    silence (seconds between consecutive sample times)."""

    series: frozenset[tuple[str, str]]
    first_s: float
    interval_s: float
    samples: int
    longest_gap_s: float = 0.0


def survey(samples: Iterable[Sample | Rejected]) -> Survey:
    """Read the samples once: which (entity, KPI) series, from when, and how often (the most common gap
    between consecutive sample times).

    >>> s = survey([Sample(60.0, "r1", "cpu", 1.0), Sample(120.0, "r1", "cpu", 2.0),
    ...             Sample(240.0, "r2", "cpu", 1.0)])
    >>> sorted(s.series), s.first_s, s.interval_s
    ([('r1', 'cpu'), ('r2', 'cpu')], 60.0, 60.0)
    """
    series: set[tuple[str, str]] = set()
    times: set[float] = set()
    n = 0
    for s in samples:
        if not isinstance(s, Sample):
            continue
        n += 1
        if len(series) < MAX_SERIES:
            series.add((s.entity, s.kpi))
        if len(times) < MAX_TIMES:
            times.add(s.time_s)
    if not times:
        raise RecordingError("the recording holds no usable sample")
    ordered = sorted(times)
    gaps = Counter(round(b - a, 6) for a, b in pairwise(ordered) if b > a)
    interval = gaps.most_common(1)[0][0] if gaps else 60.0
    return Survey(frozenset(series), ordered[0], interval, n, max(gaps, default=0.0))


def infer_catalogue(series: Iterable[tuple[str, str]], name: str = "recording") -> Catalogue:
    """A catalogue for a recording that came without one: a kind per entity-name prefix, each with the
    KPIs its entities report (sorted), bad in both directions, ``ids`` matching exactly its entities.

    >>> c = infer_catalogue([("IntGW-01", "cpu_util"), ("TR-01", "cpu_util"), ("TR-01", "gi2_rx_pps")])
    >>> c.kpi_names("tr"), c.kind_of("IntGW-01"), c.kind_of("TR-9")
    (('cpu_util', 'gi2_rx_pps'), 'intgw', None)
    """
    members: dict[str, set[str]] = {}
    kpis: dict[str, set[str]] = {}
    for entity, kpi in series:
        kind = _prefix_kind(entity)
        members.setdefault(kind, set()).add(entity)
        kpis.setdefault(kind, set()).add(kpi)
    kinds = {kind: KindDecl(
        kpis=tuple(KpiDecl(name=k, bad=Direction.BOTH) for k in sorted(kpis[kind])),
        ids="^(?:" + "|".join(re.escape(e) for e in sorted(members[kind])) + ")$")
        for kind in sorted(members)}
    kinds.setdefault(OTHER_KIND, KindDecl(ids="(?!)"))
    return Catalogue(name=name, kinds=kinds)


def _prefix_kind(entity: str) -> str:
    m = re.match(r"[A-Za-z]+", entity)
    kind = m.group(0).lower() if m else "entity"
    return kind if kind != OTHER_KIND else "other_"


def read_topology(path: Path | None, catalogue: Catalogue, entities: Iterable[str]) -> list[TopologyEntity]:
    """The topology: a ``graph.json`` of edges, else the ``parent`` groups of the catalogue's ``ids``.

    Every entity that reports is in it; one the file names that matches no kind is of kind ``other``.
    """
    ups: dict[str, list[str]] = {e: [] for e in sorted(entities)}
    if path is not None:
        for up, down in _edges(path):
            ups.setdefault(up, [])
            if up not in ups.setdefault(down, []):
                ups[down].append(up)
    else:
        for e in list(ups):
            parent = catalogue.parent_of(e)
            if parent and parent != e:
                ups[e].append(parent)
                ups.setdefault(parent, [])
    return [TopologyEntity(entity_id=e, kind=catalogue.kind_of(e) or OTHER_KIND, depends_on=sorted(u))
            for e, u in ups.items()]


def _edges(path: Path) -> list[tuple[str, str]]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise RecordingError(f"{path}: not JSON: {exc}") from None
    edges = data.get("edges") if isinstance(data, dict) else None
    if not isinstance(edges, list):
        raise RecordingError(f"{path}: edges: expected a list of [upstream, downstream] pairs")
    out = []
    for i, edge in enumerate(edges):
        if not (isinstance(edge, list) and len(edge) == 2 and all(isinstance(x, str) and x for x in edge)):
            raise RecordingError(f"{path}: edges[{i}]: expected [upstream, downstream] entity names, "
                                 f"not {json.dumps(edge)[:80]}")
        out.append((edge[0], edge[1]))
    return out


@dataclass(frozen=True)
class Prepared:
    """A recording ready for the loop: its catalogue, topology, clock and the source of its samples."""

    read: Callable[[], Iterator[Sample | Rejected]]
    catalogue: Catalogue
    topology: list[TopologyEntity]
    origin_s: float
    tick_s: float
    samples: int
    longest_gap_ticks: int = 0
    """The recording's longest silence: the detect stage's tick window must reach over it."""

    def tick_of(self, time_s: float) -> int:
        """The tick a time of the recording's clock falls in."""
        return math.floor((time_s - self.origin_s) / self.tick_s)

    def records(self, *, lateness: int = 1) -> Iterator[Recorded]:
        """The topology, then each tick's telemetry frames; refused samples as dead letters."""
        for e in self.topology:
            yield Recorded(topics.TOPOLOGY, e.entity_id, 0, e.encode())
        builder = FrameBuilder(self.catalogue, tick_s=self.tick_s, origin_s=self.origin_s, lateness=lateness)
        for item in self.read():
            got = builder.add(item) if isinstance(item, Sample) else item
            if got is not None:
                yield _dead_letter(got)
            yield from self._frames(builder.ready())
        yield from self._frames(builder.flush())

    def _frames(self, frames: list) -> Iterator[Recorded]:
        for f in frames:
            yield Recorded(topics.TELEMETRY, f.shard, int(f.timestamp_s * 1000), f.encode())


def sample_source(path: Path, fmt: Format, rules: Rules | None = None
                  ) -> Callable[[], Iterator[Sample | Rejected]]:
    """A way to read the recording's samples from the start, as often as needed. PM files need
    ``rules`` (:mod:`streams.ingest.mapping`) to name entities and KPIs; CSV may have them."""
    if fmt == "pm":
        if rules is None:
            raise RecordingError(f"{path}: PM files need mapping rules (--rules) to name entities and KPIs")
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        if not files:
            raise RecordingError(f"{path}: no PM files in it")
        pm_rules = rules

        def pm() -> Iterator[Sample | Rejected]:
            for f in files:
                yield from read_pm_file(f, pm_rules, tally=Tally())
        return pm
    layout: Literal["wide", "long"] = "wide" if fmt == "csv" else "long"
    if not path.is_file():
        raise RecordingError(f"{path}: not a file")
    return lambda: read_recording(path, layout, rules=rules)


def prepare(read: Callable[[], Iterator[Sample | Rejected]], *, name: str, catalogue: Path | None = None,
            topology: Path | None = None, tick_s: float | None = None) -> Prepared:
    """Survey a recording and settle its catalogue (declared, else inferred), topology and clock.

    Raises :class:`RecordingError` or :class:`~schemas.catalogue.CatalogueError` naming what is wrong.
    """
    found = survey(read())
    declared = load_catalogue(catalogue) if catalogue is not None else None
    if declared is not None:
        _check_declared(declared, found, catalogue)
    cat = declared or infer_catalogue(found.series, name=name)
    step = tick_s or found.interval_s
    if not (step > 0 and math.isfinite(step)):
        raise RecordingError(f"tick: {step!r} is not a positive number of seconds")
    origin = math.floor(found.first_s / step) * step
    entities = {e for e, _ in found.series}
    return Prepared(read, cat, read_topology(topology, cat, entities), origin, step, found.samples,
                    math.ceil(found.longest_gap_s / step))


def _check_declared(catalogue: Catalogue, found: Survey, path: Path | None) -> None:
    """Every series of the recording has a kind and a KPI in the declared catalogue."""
    for entity, kpi in sorted(found.series):
        kind = catalogue.kind_of(entity)
        if kind is None:
            raise CatalogueError(f"{path}: no kind's ids match entity {entity!r} of the recording")
        if kpi not in catalogue.kpi_names(kind):
            raise CatalogueError(f"{path}: kinds.{kind}.kpis: no KPI {kpi!r} (entity {entity!r} reports it)")


def _dead_letter(r: Rejected) -> Recorded:
    letter = DeadLetter.of(r.raw, source_topic=r.source, stage="ingest", reason=r.reason)
    return Recorded(topics.DLQ, None, 0, letter.encode())


def yaml_catalogue(catalogue: Catalogue) -> str:
    """The catalogue as YAML (to start a declared one from an inferred one)."""
    return yaml.safe_dump(catalogue.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
