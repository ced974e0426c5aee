"""``netloop bench --localize``: what localization costs per tick, beside detection in the same run.

The simulator and the default detector set run a scenario; every anomaly
event they produce is encoded as on the bus, and the localize stage itself
(:class:`streams.runtime.stages.LocalizeStage`: decode and observe each
event, then close the tick — evidence, ranking, greedy cover, incidents) is
timed on them, tick by tick after the warm-up; ``rank`` is the closing part
alone. The detect step on the same frames is timed beside it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np

from detectors import DEFAULT_DETECTOR, default_filter, directions_of
from schemas import AnomalyEvent, kpi_names, topics
from simulator import Network, Scenario, load_scenario, parse_scenario
from streams.runtime.bus import Message
from streams.runtime.stages import LocalizeStage


@dataclass(frozen=True)
class LocalizeCost:
    """Per-tick costs after the warm-up (milliseconds), the events in those ticks, the incidents opened."""

    scenario: str
    entities: int
    ticks: int
    events: int
    incidents: int
    localize_mean_ms: float
    localize_p99_ms: float
    localize_max_ms: float
    rank_mean_ms: float
    rank_p99_ms: float
    detect_mean_ms: float


_HUNDRED_K = """
name: cells-100k
seed: 5
ticks: {ticks}
tick_seconds: 60
warmup_ticks: 60
topology: {{sites: 5000, cells_per_site: 12, upf: 8, smf: 4, amf: 4}}
faults:
  - {{type: cell_outage, target: cell-1000-1, at: 70}}
  - {{type: link_degradation, target: link-8000, at: 75, duration: 20, severity: 0.6}}
  - {{type: smf_session_failure, target: smf-2, at: 80, duration: 10, severity: 0.6}}
"""


def hundred_k_cells(ticks: int = 95) -> Scenario:
    """100,008 cells (8,334 sites × 12), with a cell, a link and an SMF (a quarter of the cells) failing.

    Scenario files stop at 5,000 sites; the bench widens a valid one past that.
    """
    sc = parse_scenario(_HUNDRED_K.format(ticks=ticks), "bench")
    return sc.model_copy(update={"topology": sc.topology.model_copy(update={"sites": 8334})})


def localize_cost(scenario: Scenario | str = "large") -> LocalizeCost:
    """Run ``scenario`` through simulator, detectors and the localize stage, timing the last two."""
    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
    return asyncio.run(_run(sc))


async def _run(sc: Scenario) -> LocalizeCost:
    net = Network.from_scenario(sc)
    records = net.topology_records()
    stage = LocalizeStage()
    for r in records:
        await stage.handle(Message(topics.TOPOLOGY, r.entity_id, r.encode(), 0))
    filters = {k: default_filter(directions_of(k)) for k in net.models}
    localize_s, rank_s, detect_s, events, incidents = [], [], [], [], 0
    while not net.done:
        net.step()
        t0 = time.perf_counter()
        flagged = {k: f.step(net.latest[k]) for k, f in filters.items()}
        detect_s.append(time.perf_counter() - t0)
        msgs = list(_events(net, flagged, {k: f.expected() for k, f in filters.items()}))
        events.append(len(msgs))
        t0 = time.perf_counter()
        for m in msgs:
            await stage.handle(m)
        t1 = time.perf_counter()
        incidents += len(await stage.on_tick(net.tick))
        localize_s.append(time.perf_counter() - t0)
        rank_s.append(time.perf_counter() - t1)
    w = sc.warmup_ticks
    ms, rank_ms = np.array(localize_s[w:]) * 1e3, np.array(rank_s[w:]) * 1e3
    return LocalizeCost(sc.name, len(records), len(ms), sum(events[w:]), incidents, float(ms.mean()),
                        float(np.percentile(ms, 99)), float(ms.max()), float(rank_ms.mean()),
                        float(np.percentile(rank_ms, 99)), float(np.mean(detect_s[w:]) * 1e3))


def _events(net: Network, flagged: dict, expected: dict):
    for kind, (scores, flags) in flagged.items():
        rows, cols = np.nonzero(flags)
        ids, names, values = net.topology.ids[kind], kpi_names(kind), net.latest[kind]
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            e = AnomalyEvent(entity_id=ids[i], kpi=names[j], tick=net.tick, value=float(values[i, j]),
                             expected=float(expected[kind][i, j]), score=round(float(scores[i, j]), 3),
                             detector=DEFAULT_DETECTOR)
            yield Message(topics.ANOMALIES, ids[i], e.encode(), 0)
