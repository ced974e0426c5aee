"""The road from the network's counters to the bus: frames lost, late, duplicated; counters reset.

Per frame, independently: lost (never sent), late (sent 1 to ``late_ticks``
ticks after its own tick, carrying its own tick number, ahead of that
tick's frames), or sent twice in a row. Per entity and tick, a counter
reset: the entity's counter-derived KPI (a cell's throughput, an NF's
request rate, a link's utilisation) reads 0 for that tick. The network's own
state, which the tools read, is not touched.
"""

from __future__ import annotations

import numpy as np

from schemas import EntityKind, TelemetryFrame
from simulator.faults import REQ, TPUT, UTIL
from simulator.realism import Telemetry

COUNTER_KPI: dict[EntityKind, int] = {EntityKind.CELL: TPUT, EntityKind.LINK: UTIL, EntityKind.UPF: REQ,
                                      EntityKind.SMF: REQ, EntityKind.AMF: REQ}


class TelemetryChannel:
    """Imperfect delivery of frames, seeded by its own generator."""

    def __init__(self, spec: Telemetry, rng: np.random.Generator) -> None:
        self.spec, self.rng = spec, rng
        self._held: list[tuple[int, TelemetryFrame]] = []  # (tick it goes out, frame)
        self.lost = self.late = self.duplicated = self.resets = 0

    def reset_counters(self, values: dict[EntityKind, np.ndarray]) -> dict[EntityKind, np.ndarray]:
        """The matrices as reported: a copy where some entities' counters reset this tick."""
        p = self.spec.counter_reset
        if not p:
            return values
        out = {}
        for kind, m in values.items():
            hit = self.rng.random(len(m)) < p
            if hit.any():
                m = m.copy()
                m[hit, COUNTER_KPI[kind]] = 0.0
                self.resets += int(hit.sum())
            out[kind] = m
        return out

    def send(self, tick: int, frames: list[TelemetryFrame]) -> list[TelemetryFrame]:
        """What reaches the bus at ``tick``: late frames due now, then this tick's that survive."""
        s = self.spec
        due = [f for at, f in self._held if at <= tick]
        self._held = [(at, f) for at, f in self._held if at > tick]
        if s.perfect:
            return due + frames
        out = due
        u = self.rng.random((len(frames), 3))
        for frame, (lose, late, dup) in zip(frames, u.tolist(), strict=True):
            if lose < s.loss:
                self.lost += 1
            elif late < s.late:
                self.late += 1
                self._held.append((tick + int(self.rng.integers(1, s.late_ticks + 1)), frame))
            else:
                out.append(frame)
                if dup < s.duplicate:
                    self.duplicated += 1
                    out.append(frame)
        return out
