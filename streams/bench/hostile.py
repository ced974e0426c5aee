"""Records an outsider may send: malformed ones that must be dead letters, and valid hostile ones.

:class:`HostileRecords` builds them from the real frames of a running loop (so
shards, entities and ticks look plausible), seeded. Each :class:`Hostile` says
whether the loop must refuse it (``bad``: a dead letter with a reason) or may
take it (a renamed entity, a fake shard, fake entities in a real shard: state
that must stay bounded and never reset the real entities). ``netloop bench
--soak`` and ``--fuzz`` mix them into a running scenario; the tests use them too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from schemas import TelemetryFrame, topics


@dataclass(frozen=True)
class Hostile:
    """One record an outsider sends: where, its bytes, and whether it must become a dead letter."""

    topic: str
    key: str | None
    raw: bytes
    bad: bool
    kind: str


Mutation = Callable[[dict, np.random.Generator], bytes]


def _dump(body: dict) -> bytes:
    return json.dumps(body).encode()


def _set(path: str, value: object) -> Mutation:
    def mutate(body: dict, rng: np.random.Generator) -> bytes:
        body[path] = value
        return _dump(body)

    return mutate


def _cell(value: str) -> Mutation:
    def mutate(body: dict, rng: np.random.Generator) -> bytes:  # a literal JSON cannot hold, spelled in
        body["values"][0][0] = 0.123456789
        return _dump(body).replace(b"0.123456789", value.encode(), 1)

    return mutate


def _truncated(body: dict, rng: np.random.Generator) -> bytes:
    raw = _dump(body)
    return raw[: int(rng.integers(1, len(raw) - 1))]


def _noise(body: dict, rng: np.random.Generator) -> bytes:
    return rng.integers(0, 256, int(rng.integers(1, 200)), dtype=np.uint8).tobytes()


def _short_row(body: dict, rng: np.random.Generator) -> bytes:
    body["values"][0] = body["values"][0][:-1]
    return _dump(body)


def _extra_row(body: dict, rng: np.random.Generator) -> bytes:
    body["values"].append(body["values"][0])
    return _dump(body)


def _twice(body: dict, rng: np.random.Generator) -> bytes:
    body["entity_ids"].append(body["entity_ids"][0])
    body["values"].append(body["values"][0])
    return _dump(body)


def _unknown_kpi(body: dict, rng: np.random.Generator) -> bytes:
    body["kpis"][0] = "jitter_ms"
    return _dump(body)


def _behind(body: dict, rng: np.random.Generator) -> bytes:
    body["tick"] = max(0, body["tick"] - 50)
    return _dump(body) if body["tick"] >= 0 else b""


def _ahead(body: dict, rng: np.random.Generator) -> bytes:
    body["tick"] += 1000
    return _dump(body)


BAD: dict[str, Mutation] = {
    "not_json": _noise,
    "truncated": _truncated,
    "short_row": _short_row,
    "extra_row": _extra_row,
    "nan": _cell("NaN"),
    "infinity": _cell("-Infinity"),
    "beyond_float32": _cell("1e39"),
    "huge": _cell("1e300"),
    "unknown_kpi": _unknown_kpi,
    "duplicate_entity": _twice,
    "boolean_tick": _set("tick", True),
    "string_tick": _set("tick", "5"),
    "negative_tick": _set("tick", -1),
    "tick_beyond_max": _set("tick", 2**60),
    "future_tick": _ahead,
    "stale_tick": _behind,
    "bad_kind": _set("kind", "router"),
    "no_entities": _set("entity_ids", []),
}
"""Malformed or forged telemetry: each must be a dead letter with a reason."""

MARKS: tuple[bytes, ...] = (b'{"tick_closed":"x"}', b'{"tick_closed":1000000,"partitions":1}',
                            b'{"tick_closed":true,"partitions":2}', b'{"tick_closed":-3,"partitions":2}')
"""Forged tick marks on the telemetry topic (dead letters on every runtime)."""


class HostileRecords:
    """Hostile records made from real frames, seeded.

    Parameters
    ----------
    seed
        Of the random choices.
    fake_entities
        How many distinct fake entity ids to draw from: a small pool is what
        a long soak needs (fakes come back, and are evicted when they stop).
    """

    def __init__(self, seed: int = 0, *, fake_entities: int = 10_000) -> None:
        self.rng = np.random.default_rng(seed)
        self.fake_entities = fake_entities

    def bad(self, frame: TelemetryFrame) -> Hostile:
        """One malformed or forged record made from ``frame``."""
        if self.rng.random() < 0.05:
            return Hostile(topics.TELEMETRY, "mark", MARKS[int(self.rng.integers(len(MARKS)))], True,
                           "forged_mark")
        kind = list(BAD)[int(self.rng.integers(len(BAD)))]
        raw = BAD[kind](json.loads(frame.encode()), self.rng)
        if kind == "stale_tick" and frame.tick < 50:  # nothing to be stale against yet
            raw = BAD["not_json"]({}, self.rng)
        return Hostile(topics.TELEMETRY, frame.shard, raw, True, kind)

    def taken(self, frame: TelemetryFrame) -> Hostile:
        """One valid hostile frame: a renamed entity, a fake shard, or fake entities in ``frame``'s shard."""
        body = json.loads(frame.encode())
        choice = int(self.rng.integers(3))
        ids = body["entity_ids"]
        prefix = frame.kind.value
        if choice == 0:
            ids[int(self.rng.integers(len(ids)))] = f"{prefix}-fake-{self._fake()}"
            kind = "renamed_entity"
        elif choice == 1:
            body["shard"] = f"fake-shard-{int(self.rng.integers(100))}"
            body["entity_ids"] = [f"{prefix}-fake-{self._fake()}" for _ in ids]
            kind = "fake_shard"
        else:
            body["entity_ids"] = [*ids, f"{prefix}-fake-{self._fake()}"]
            body["values"] = [*body["values"], body["values"][0]]
            kind = "fake_entity"
        return Hostile(topics.TELEMETRY, body["shard"], _dump(body), False, kind)

    def other_topic(self) -> Hostile:
        """Garbage on one of the loop's own topics (every stage that reads it dead-letters it)."""
        topic = (topics.ANOMALIES, topics.INCIDENTS, topics.ACTION_RESULTS, topics.DECISIONS)[
            int(self.rng.integers(4))]
        raw = (b'{"entity_id": 3}', b"\xff\xfe", b'{"tick": true}', b"[]")[int(self.rng.integers(4))]
        return Hostile(topic, "x", raw, True, "other_topic")

    def _fake(self) -> int:
        return int(self.rng.integers(self.fake_entities))
