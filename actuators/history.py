"""The recent telemetry the twin reads: the last ticks of every frame on the bus, kept raw, decoded on demand.

Keeping a frame costs a dictionary entry (its bytes are the bus's own);
decoding one costs a JSON parse, paid only for the shards of the entities a
prediction watches. Frames are keyed by shard, kind and tick, so a
duplicated frame replaces itself and a late one takes its own tick's place.
Everything is bounded: ``ticks`` per shard, and a cache of decoded frames.

>>> h = TelemetryHistory(ticks=4)
>>> raw = (b'{"schema_version":1,"shard":"s1","tick":%d,"timestamp_s":0,"kind":"link",'
...        b'"entity_ids":["link-1"],"kpis":["utilization_ratio","latency_ms","packet_loss_ratio"],'
...        b'"values":[[0.5,%d.0,0.001]]}')
>>> for t in range(6):
...     h.add(raw % (t, t))
>>> ticks, values = h.series(["link-1"])["link-1"]
>>> ticks.tolist(), values[:, 1].tolist()
([2, 3, 4, 5], [2.0, 3.0, 4.0, 5.0])
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from schemas import EntityKind, kpi_names

_HEAD = re.compile(rb'"shard":"([^"]*)","tick":(\d+),"timestamp_s":[^,]*,"kind":"(\w+)"')
_CACHE = 4096  # decoded frames kept
Key = tuple[str, str]  # (shard, kind)


class TelemetryHistory:
    """The last ``ticks`` ticks of telemetry per shard."""

    def __init__(self, *, ticks: int = 32) -> None:
        self.ticks = ticks
        self._raw: dict[Key, dict[int, bytes]] = {}
        self._ids: dict[Key, list[str]] = {}
        self._where: dict[str, tuple[Key, int]] = {}
        self._decoded: OrderedDict[tuple[Key, int], np.ndarray] = OrderedDict()
        self.latest_tick = -1

    def add(self, raw: bytes) -> None:
        """Keep one telemetry record (frames only; other records are ignored)."""
        head = _HEAD.search(raw, 0, 400)
        if head is None:
            return
        key, tick = (head.group(1).decode(), head.group(3).decode()), int(head.group(2))
        frames = self._raw.setdefault(key, {})
        frames[tick] = raw
        self.latest_tick = max(self.latest_tick, tick)
        for old in [t for t in frames if t <= self.latest_tick - self.ticks]:
            del frames[old]

    def kind(self, entity_id: str) -> EntityKind | None:
        where = self._locate(entity_id)
        return EntityKind(where[0][1]) if where else None

    def series(self, entity_ids: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per entity it knows: the ticks held (ascending) and the KPI rows (ticks × KPIs)."""
        rows: dict[Key, list[tuple[str, int]]] = {}
        for e in entity_ids:
            where = self._locate(e)
            if where is not None:
                rows.setdefault(where[0], []).append((e, where[1]))
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for key, members in rows.items():
            ticks = sorted(self._raw.get(key, {}))
            mats = [self._matrix(key, t) for t in ticks]
            keep = [i for i, m in enumerate(mats) if m is not None]
            if not keep:
                continue
            stack = np.stack([mats[i] for i in keep])  # type: ignore[misc]
            t_arr = np.array([ticks[i] for i in keep])
            for e, row in members:
                out[e] = (t_arr, stack[:, row, :])
        return out

    def _locate(self, entity_id: str) -> tuple[Key, int] | None:
        if entity_id not in self._where:
            for key in self._raw:
                if key not in self._ids:
                    self._learn_ids(key)
        return self._where.get(entity_id)

    def _learn_ids(self, key: Key) -> None:
        frames = self._raw[key]
        if not frames:
            return
        try:
            ids = json.loads(frames[max(frames)])["entity_ids"]
        except (ValueError, KeyError, TypeError):
            return
        self._ids[key] = ids
        for i, e in enumerate(ids):
            self._where[e] = (key, i)

    def _matrix(self, key: Key, tick: int) -> np.ndarray | None:
        """One frame's values as entities × KPIs in catalogue order (None when unusable)."""
        cached = self._decoded.get((key, tick))
        if cached is not None:
            self._decoded.move_to_end((key, tick))
            return cached
        try:
            obj = json.loads(self._raw[key][tick])
            names = kpi_names(EntityKind(key[1]))
            order = [obj["kpis"].index(k) for k in names]
            m = np.asarray(obj["values"], dtype=float)[:, order]
            if obj["entity_ids"] != self._ids.get(key) or not np.isfinite(m).all():
                return None
        except (ValueError, KeyError, TypeError, IndexError):
            return None
        self._decoded[(key, tick)] = m
        if len(self._decoded) > _CACHE:
            self._decoded.popitem(last=False)
        return m
