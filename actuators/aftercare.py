"""After a fix: watch the root for the fault coming back, and undo a workaround once it is not needed.

A fixed fault may come back (:mod:`actuators.relapse` reads the telemetry for its
symptoms). A fix that moved traffic onto a protection path — a reroute, a
failover — loads that path for as long as it stands, and the next fault on the
link finds no headroom there; transport networks revert such switches once the
working path has been healthy for a *wait-to-restore* time. So, for each root
fixed by an action, :class:`Aftercare` opens a new incident if its symptoms come
back within ``relapse_ticks``, and, when the tool's effect model names a
``revert_after_ticks``, rolls the change back once the root has stayed healthy
that long (its symptoms coming back later reopen it like any relapse).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

from actuators.history import TelemetryHistory
from actuators.relapse import AGAIN, Symptom, relapse, showing, symptoms_of
from schemas import ActionRequest, DecisionKind, DecisionRecord, Incident, Record, ToolCall

STAGE = "verify"


@dataclass(frozen=True)
class _Care:
    incident: Incident  # as it was resolved
    symptoms: tuple[Symptom, ...]
    until: int
    action_id: str
    revert: tuple[ToolCall, ...] = ()  # the compensation, while the workaround stands
    revert_at: int = 0


class Aftercare:
    """Fixed roots under watch: relapses become new incidents, workarounds are reverted when healthy."""

    def __init__(self, *, relapse_ticks: int) -> None:
        self.relapse_ticks = relapse_ticks
        self._care: dict[str, _Care] = {}  # fixed root -> its watch

    def start(self, closed: Incident, *, tick: int, action_id: str, compensation: list[ToolCall],
              revert_after: int | None) -> None:
        """Watch the root of ``closed``, resolved at ``tick`` after the action ``action_id``."""
        root = closed.candidates[closed.attempt].entity_id
        revert = tuple(compensation) if revert_after is not None else ()
        self._care[root] = _Care(closed, symptoms_of(closed), tick + self.relapse_ticks, action_id, revert,
                                 tick + (revert_after or 0))

    def step(self, tick: int, telemetry: TelemetryHistory | None, busy: AbstractSet[str]
             ) -> tuple[list[Incident], list[Record]]:
        """New incidents for roots whose symptoms are back, and the reverts now due (rollback requests
        with their decision records). Roots in ``busy`` (an incident has them in hand) wait."""
        opened: list[Incident] = []
        records: list[Record] = []
        for root, care in list(self._care.items()):
            if tick > care.until or telemetry is None:
                del self._care[root]
            elif root in busy:
                continue
            elif showing(care.symptoms, telemetry, tick, need=AGAIN[0], of_last=AGAIN[1]):
                del self._care[root]
                opened.append(relapse(care.incident, care.symptoms, telemetry, tick))
            elif care.revert and tick >= care.revert_at:
                records += _revert(care, tick)
                self._care[root] = replace(care, revert=())
        return opened, records


def _revert(care: _Care, tick: int) -> list[Record]:
    inc, last = care.incident, care.revert[-1]
    cand = inc.candidates[inc.attempt]
    request = ActionRequest(action_id=f"{care.action_id}#rollback", incident_id=inc.incident_id, tick=tick,
                            tool=last.tool, target=last.target, arguments=last.arguments,
                            rollback=list(care.revert))
    why = (f"{cand.entity_id} has stayed healthy {tick - inc.tick} ticks since the incident was "
           f"resolved: reverting the workaround ({', '.join(c.tool for c in care.revert)}), so the path it "
           f"loads is free again; its symptoms coming back would reopen it")
    record = DecisionRecord(incident_id=inc.incident_id, tick=tick, stage=STAGE,
                            decision=DecisionKind.ROLLBACK, fault_type=cand.fault_type, target=cand.entity_id,
                            confidence=inc.confidence, explanation=why, action_id=care.action_id,
                            evidence=list(cand.evidence), outcome="reverted after wait-to-restore")
    return [record, request]
