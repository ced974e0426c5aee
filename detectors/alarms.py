"""The alarms equipment raises, as fault-type evidence: which X.733 families stand on each entity.

Hard failures announce themselves: a cell that is down raises a processing alarm,
a link without light a communications one, failed hardware an equipment one.
Degradations are silent. So an alarm standing on a candidate root is part of its
signature (:func:`detectors.classifier.signature_features`), and a root whose
alarms change is worth typing again.

>>> from schemas import AlarmEvent
>>> a = ActiveAlarms()
>>> a.note(AlarmEvent(alarm_id="AL-1", entity_id="link-1", tick=5, text="loss of signal",
...                   probable_cause="communications"))
>>> sorted(a.causes("link-1")), a.changed()
(['communications'], {'link-1'})
>>> a.note(AlarmEvent(alarm_id="AL-1", entity_id="link-1", tick=9, text="loss of signal",
...                   probable_cause="communications", cleared=True))
>>> sorted(a.causes("link-1")), a.changed()
([], {'link-1'})
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from schemas import AlarmEvent

CAUSES: tuple[str, ...] = ("communications", "environmental", "equipment", "processing", "quality-of-service")
"""The X.733 probable-cause families, in feature order."""
_MAX_STANDING = 100_000  # alarms kept; beyond that, the oldest are forgotten


class ActiveAlarms(Mapping[str, AbstractSet[str]]):
    """Entity → the probable-cause families of its standing (raised, not cleared) alarms."""

    def __init__(self) -> None:
        self._standing: dict[str, tuple[str, str]] = {}  # alarm id -> (entity, cause)
        self._by_entity: dict[str, dict[str, str]] = {}  # entity -> alarm id -> cause
        self._changed: set[str] = set()
        self._heeded: set[str] = set()  # standing alarms already offered (see :meth:`unheeded`)
        self._since: dict[str, int] = {}  # alarm id -> tick raised

    def note(self, event: AlarmEvent) -> None:
        """An alarm raised or cleared."""
        if event.cleared:
            entity, _ = self._standing.pop(event.alarm_id, (event.entity_id, ""))
            self._by_entity.get(entity, {}).pop(event.alarm_id, None)
            if not self._by_entity.get(entity):
                self._by_entity.pop(entity, None)
        else:
            if len(self._standing) >= _MAX_STANDING:
                oldest = next(iter(self._standing))
                self.note(AlarmEvent(alarm_id=oldest, entity_id=self._standing[oldest][0], tick=event.tick,
                                     text="", probable_cause="", cleared=True))
            self._standing[event.alarm_id] = (event.entity_id, event.probable_cause)
            self._since.setdefault(event.alarm_id, event.tick)
            self._by_entity.setdefault(event.entity_id, {})[event.alarm_id] = event.probable_cause
        self._changed.add(event.entity_id)

    def causes(self, entity_id: str) -> frozenset[str]:
        """The families of the alarms standing on ``entity_id``."""
        return frozenset(self._by_entity.get(entity_id, {}).values())

    def unheeded(self, rooted: AbstractSet[str], tick: int, *, after: int) -> list[str]:
        """Entities with an alarm standing ``after`` ticks or more that no incident has been rooted on,
        other than those in ``rooted`` (roots of incidents in hand). Each alarm is offered once (or
        counts as heeded when its entity is in ``rooted``)."""
        out = []
        for alarm_id, (entity, _) in self._standing.items():
            if alarm_id in self._heeded:
                continue
            if entity in rooted:
                self._heeded.add(alarm_id)
            elif tick - self._since[alarm_id] >= after:
                self._heeded.add(alarm_id)
                if entity not in out:
                    out.append(entity)
        return out

    def changed(self) -> set[str]:
        """Entities whose alarms were raised or cleared since the last call."""
        out, self._changed = self._changed, set()
        return out

    def __getitem__(self, entity_id: str) -> AbstractSet[str]:
        if entity_id not in self._by_entity:
            raise KeyError(entity_id)
        return self.causes(entity_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_entity)

    def __len__(self) -> int:
        return len(self._by_entity)
