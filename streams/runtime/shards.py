"""Detector state per shard: entity rows that join and leave, bounded in number, evicted when unseen.

Entity churn is normal: a frame may name an entity the shard has not seen, leave
one out, or list them in another order. Each entity learns a tick once: a frame
that repeats a tick (redelivered, or a copy with an extra entity) teaches the
entities that had it nothing, and cannot make them flag twice. Each (shard, kind) keeps one detector
set whose rows are its entities; a new entity gets a fresh row (it warms up on
its own), an absent one keeps its state and learns nothing that step, and no
frame ever resets the rows of the others.

Bounds: at most ``max_shards`` shards and ``max_entities`` entity rows in all;
an entity or shard not seen for ``ttl_s`` seconds is evicted. Entities beyond
the bound are not admitted (the caller dead-letters them); known ones are
scored as always. A frame's tick must not go back on its shard's, nor jump
past the latest tick by more than ``max_ahead`` (:class:`~streams.runtime.ticks.TickWindow`).

The fast path (the same entities as last time, in the same order) is one
vectorized step over the whole frame, as before churn was handled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from detectors import OnsetFilter
from streams.runtime.perceive import BadRecord, Batch
from streams.runtime.ticks import TickWindow

ShardKey = tuple[str, str]  # (shard, entity kind)


@dataclass(frozen=True)
class StateBounds:
    """How much detector state the detect stage keeps, and for how long."""

    max_shards: int = 10_000
    max_entities: int = 200_000
    ttl_s: float = 3600.0
    max_ahead: int = 5


@dataclass(frozen=True)
class Scored:
    """One frame through its shard's detectors: rows ``rows`` of the batch, in batch order."""

    rows: np.ndarray
    scores: np.ndarray
    flags: np.ndarray
    expected: np.ndarray
    refused: tuple[str, ...] = ()


class _Shard:
    """One (shard, kind): its detector set and which row each entity has."""

    def __init__(self, filt: OnsetFilter, ids: tuple[str, ...], now: float) -> None:
        self.filter = filt
        self.ids = list(ids)
        self.row = {e: i for i, e in enumerate(ids)}
        self.seen = np.full(len(ids), now)
        self.tick = np.full(len(ids), -1, dtype=np.int64)  # the last tick each row learned
        self.last_seen = now
        self._cache: tuple[tuple[str, ...], np.ndarray] | None = None

    def rows_of(self, ids: tuple[str, ...]) -> np.ndarray:
        """The row of each entity (-1 for an unknown one); the last frame's answer is cached."""
        if self._cache is not None and self._cache[0] == ids:
            return self._cache[1]
        rows = np.fromiter((self.row.get(e, -1) for e in ids), dtype=np.intp, count=len(ids))
        self._cache = (ids, rows)
        return rows

    def select(self, index: np.ndarray, ids: list[str], now: float) -> None:
        """Re-row the state: row ``i`` becomes old row ``index[i]`` (-1: a fresh row for ``ids[i]``)."""
        self.filter.select_rows(index)
        fresh = np.asarray(index) < 0
        self.seen = np.where(fresh, now, self.seen[np.maximum(index, 0)]) if len(index) else self.seen[:0]
        self.tick = np.where(fresh, -1, self.tick[np.maximum(index, 0)]) if len(index) else self.tick[:0]
        self.ids = ids
        self.row = {e: i for i, e in enumerate(ids)}
        self._cache = None


class ShardStates:
    """The detect stage's detector sets, one per (shard, kind), within :class:`StateBounds`.

    Parameters
    ----------
    make_filter
        A fresh detector set for a shard of entities of a kind.
    bounds
        Sizes, time to live and the tick window.
    clock
        Monotonic seconds (eviction is by wall-clock time, which no record can move).
    """

    def __init__(self, make_filter: Callable[[str], OnsetFilter], bounds: StateBounds,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.make_filter, self.bounds, self.clock = make_filter, bounds, clock
        self.ticks = TickWindow(max_ahead=bounds.max_ahead, jump_after=3)
        self._shards: dict[ShardKey, _Shard] = {}
        self._entities = 0
        self._swept = clock()

    @property
    def entities(self) -> int:
        """Entity rows held over all shards."""
        return self._entities

    def __len__(self) -> int:
        return len(self._shards)

    def step(self, batch: Batch) -> Scored:
        """Score and learn one frame; raise :class:`BadRecord` for a bad tick or a shard past the bound."""
        key: ShardKey = (batch.shard, str(batch.kind))
        self.ticks.settle(key, batch.tick)
        now = self.clock()
        self._sweep(now)
        shard = self._shards.get(key)
        if shard is None:
            shard = self._open(key, batch, now)
            scored = self._first(shard, batch)
        else:
            scored = self._step(shard, batch, now)
        self.ticks.admit(key, batch.tick)
        shard.last_seen = now
        return scored

    def _open(self, key: ShardKey, batch: Batch, now: float) -> _Shard:
        if len(self._shards) >= self.bounds.max_shards:
            raise BadRecord("capacity", f"shard {key[0]!r} ({key[1]}) not admitted: the detect stage holds "
                            f"its maximum of {self.bounds.max_shards} shards")
        room = self.bounds.max_entities - self._entities
        if room <= 0:
            raise BadRecord("capacity", f"shard {key[0]!r} ({key[1]}) not admitted: the detect stage holds "
                            f"its maximum of {self.bounds.max_entities} entities")
        shard = _Shard(self.make_filter(batch.kind), batch.entity_ids[:room], now)
        self._shards[key] = shard
        self._entities += len(shard.ids)
        return shard

    def _first(self, shard: _Shard, batch: Batch) -> Scored:
        n = len(shard.ids)
        shard.tick[:] = batch.tick
        values = batch.values[:n]
        if batch.present is not None:  # a value not measured starts at its KPI's mean over the frame
            values = _filled(values, batch.present[:n], _column_means(values, batch.present[:n]))
        scores, flags = shard.filter.step(values)
        return Scored(np.arange(n), scores, flags, shard.filter.expected(),
                      batch.entity_ids[n:])

    def _step(self, shard: _Shard, batch: Batch, now: float) -> Scored:
        ids = batch.entity_ids
        rows = shard.rows_of(ids)
        refused: tuple[str, ...] = ()
        if (rows < 0).any():
            rows, refused = self._add(shard, ids, rows, now)
        present = np.flatnonzero(rows >= 0)
        rows_present = rows[present]
        newer = shard.tick[rows_present] < batch.tick  # each entity learns a tick once: a repeat is not news
        if not newer.all():
            present, rows_present = present[newer], rows_present[newer]
        shard.seen[rows_present] = now
        shard.tick[rows_present] = batch.tick
        n = len(shard.ids)
        if not len(present):
            k = batch.values.shape[1]
            return Scored(present, np.zeros((0, k)), np.zeros((0, k), dtype=bool), np.zeros((0, k)), refused)
        f = shard.filter
        measured = batch.present
        if measured is None and len(present) == len(ids) == n and (rows == np.arange(n)).all():  # the usual
            scores, flags = f.step(batch.values)
            return Scored(present, scores, flags, f.expected(), refused)
        X = f.detector.expected().astype(batch.values.dtype)
        mask: np.ndarray | None = None
        if measured is not None:  # a value not measured is its baseline's, and learns nothing
            X[rows_present] = _filled(batch.values[present], measured[present], X[rows_present])
            mask = np.zeros(X.shape, dtype=bool)
            mask[rows_present] = measured[present]
        else:
            X[rows_present] = batch.values[present]
            if len(rows_present) < n:
                mask = np.zeros((n, 1), dtype=bool)
                mask[rows_present] = True
        scores, flags = f.step(X, mask)
        return Scored(present, scores[rows_present], flags[rows_present],
                      f.expected()[rows_present], refused)

    def _add(self, shard: _Shard, ids: tuple[str, ...], rows: np.ndarray,
             now: float) -> tuple[np.ndarray, tuple[str, ...]]:
        """Give the frame's unknown entities fresh rows, as far as the bound allows."""
        new = [ids[i] for i in np.flatnonzero(rows < 0)]
        room = max(0, self.bounds.max_entities - self._entities)
        admitted, refused = new[:room], tuple(new[room:])
        if admitted:
            n = len(shard.ids)
            index = np.concatenate([np.arange(n), np.full(len(admitted), -1)])
            shard.select(index, shard.ids + admitted, now)
            self._entities += len(admitted)
        return shard.rows_of(ids), refused

    def _sweep(self, now: float) -> None:
        """Evict shards and entities not seen for ``ttl_s`` (looked at every ``ttl_s / 8``)."""
        ttl = self.bounds.ttl_s
        if now - self._swept < ttl / 8:
            return
        self._swept = now
        for key, shard in list(self._shards.items()):
            if now - shard.last_seen > ttl:
                del self._shards[key]
                self.ticks.forget(key)
                self._entities -= len(shard.ids)
                continue
            keep = np.flatnonzero(now - shard.seen <= ttl)
            if len(keep) < len(shard.ids):
                self._entities -= len(shard.ids) - len(keep)
                shard.select(keep, [shard.ids[i] for i in keep], now)


def _filled(values: np.ndarray, measured: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """``values`` where measured, else ``fill`` (same shape, or a row broadcast)."""
    return np.where(measured, values, fill)


def _column_means(values: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Each KPI's mean over the entities that measured it (0 where none did)."""
    counts = measured.sum(axis=0)
    sums = np.where(measured, values, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
