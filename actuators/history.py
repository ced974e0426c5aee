"""The recent telemetry the twin reads: the last ticks of every frame on the bus, kept raw, decoded on demand.

Keeping a frame costs a dictionary entry (its bytes are the bus's own) and,
for the loop's own compact encoding, no parse (another producer's spacing or
field order costs one); decoding one costs a JSON parse, paid only for the
shards of the entities a prediction watches. Frames are keyed by shard, kind and tick: the first
frame of a tick is kept, as detect learns each entity's tick once, so a
duplicate or a copy an outsider sends after it changes nothing, and a late
frame takes its own tick's place. A frame detect would refuse (rows that are
not its entities', a value that is not finite or beyond
:data:`~schemas.MAX_ABS_VALUE`) is not read.

Time is the loop's, not the frames': :meth:`TelemetryHistory.on_tick` says
which tick the loop has closed, and only frames from ``ticks`` before it to
``ahead`` after it are kept (on Kafka the telemetry a stage reads runs ahead of
the marks that close its ticks). A frame an outsider forged with a tick no loop
will reach is ignored (it used to become the history's "now", and every real
frame after it was dropped as old).

Everything is bounded: ``ticks`` frames per shard, ``max_shards`` shards (a
shard not heard for ``ticks`` ticks is dropped with what was learned of its
entities), and a cache of ``_CACHE`` decoded frames.

>>> h = TelemetryHistory(ticks=4)
>>> raw = (b'{"schema_version":1,"shard":"s1","tick":%d,"timestamp_s":0,"kind":"link",'
...        b'"entity_ids":["link-1"],"kpis":["utilization_ratio","latency_ms","packet_loss_ratio"],'
...        b'"values":[[0.5,%d.0,0.001]]}')
>>> for t in range(6):
...     h.add(raw % (t, t))
...     h.on_tick(t)
>>> h.add(raw % (10**9, 0))  # forged: far past the loop's tick
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

from schemas import MAX_ABS_VALUE, EntityKind, kpi_names

_HEAD = re.compile(rb'"shard":"([^"]*)","tick":(\d+),"timestamp_s":[^,]*,"kind":"(\w+)"')
_CACHE = 4096  # decoded frames kept
Key = tuple[str, str]  # (shard, kind)
_KINDS = frozenset(k.value for k in EntityKind)


def _where_of(raw: bytes) -> tuple[Key, int] | None:
    """A frame's ``(shard, kind)`` and tick: read off the loop's own encoding (compact, its field
    order) without parsing the rest; any other producer's spacing or order is parsed. None: no frame.

    >>> _where_of(b'{"schema_version":1,"shard":"s1","tick":3,"timestamp_s":0,"kind":"link"}')
    (('s1', 'link'), 3)
    >>> _where_of(b'{"kind": "cell", "tick": 4, "shard": "s2"}'), _where_of(b'{"tick_closed": 4}')
    ((('s2', 'cell'), 4), None)
    >>> _where_of(b'{"shard":"s1","tick":3,"timestamp_s":0,"kind":"router"}') is None
    True
    """
    head = _HEAD.search(raw, 0, 400)
    if head is not None:
        kind = head.group(3).decode()
        return ((head.group(1).decode(), kind), int(head.group(2))) if kind in _KINDS else None
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    shard, tick, kind = obj.get("shard"), obj.get("tick"), obj.get("kind")
    if not (isinstance(shard, str) and kind in _KINDS and type(tick) is int and tick >= 0):
        return None
    return (shard, kind), tick


class TelemetryHistory:
    """The last ``ticks`` ticks of telemetry per shard, for at most ``max_shards`` shards."""

    def __init__(self, *, ticks: int = 32, ahead: int = 256, max_shards: int = 10_000) -> None:
        self.ticks, self.ahead, self.max_shards = ticks, ahead, max_shards
        self.now = -1
        """The last tick the loop closed (-1: none yet, and any frame is kept until the first)."""
        self._raw: dict[Key, dict[int, bytes]] = {}
        self._newest: dict[Key, int] = {}
        self._ids: dict[Key, list[str]] = {}
        self._where: dict[str, tuple[Key, int]] = {}
        self._decoded: OrderedDict[tuple[Key, int], np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        """Shards held."""
        return len(self._raw)

    def shards(self) -> list[Key]:
        """``(shard, kind)`` of the shards held."""
        return list(self._raw)

    def add(self, raw: bytes) -> None:
        """Keep one telemetry record (frames within the window only; other records are ignored)."""
        where = _where_of(raw)
        if where is None:
            return
        key, tick = where
        if not self._within(tick):
            return  # stale, or a tick the loop is nowhere near
        frames = self._raw.get(key)
        if frames is None:
            if len(self._raw) >= self.max_shards:
                return
            frames = self._raw[key] = {}
        if tick in frames:
            return  # the first frame of a tick is kept: a copy sent after it changes nothing
        frames[tick] = raw
        self._newest[key] = max(tick, self._newest.get(key, tick))
        if len(frames) > self.ticks:
            self._trim(key)

    def on_tick(self, tick: int) -> None:
        """The loop closed ``tick``: frames out of its window go, and shards left without any."""
        self.now = max(self.now, tick)
        for key, newest in list(self._newest.items()):
            if not self._within(newest):
                self._trim(key)

    def _within(self, tick: int) -> bool:
        return self.now < 0 or self.now - self.ticks < tick <= self.now + self.ahead

    def _trim(self, key: Key) -> None:
        """Drop ``key``'s frames out of the window or past its ``ticks`` newest; the shard if none is left."""
        frames = self._raw[key]
        keep = set(sorted(t for t in frames if self._within(t))[-self.ticks:])
        for t in [t for t in frames if t not in keep]:
            del frames[t]
            self._decoded.pop((key, t), None)
        if frames:
            self._newest[key] = max(frames)
            return
        del self._raw[key], self._newest[key]
        for e in self._ids.pop(key, []):
            if self._where.get(e, (None, 0))[0] == key:
                del self._where[e]

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
            ids = self._ids.get(key)
            if ids is None or obj["entity_ids"] != ids or m.shape != (len(ids), len(names)) \
                    or not (np.abs(m) <= MAX_ABS_VALUE).all():
                return None  # other entities, a row too many or too few, a value no detector takes
        except (ValueError, KeyError, TypeError, IndexError):
            return None
        self._decoded[(key, tick)] = m
        if len(self._decoded) > _CACHE:
            self._decoded.popitem(last=False)
        return m
