"""Before any remedy: does what the network announced explain the incident?

Two announcements change what a loop should do. An *equipment alarm* (a
hardware fault) on the incident's root or on one of its entities means no
tool will fix it: escalate to a person at once, instead of trying tools; on
something the root depends on, the symptoms are likely that hardware's: hold
while the alarm stands. A *maintenance window* covering the root or most of
the incident's entities means the symptoms are the planned work: hold, and
look again after the window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from actuators.inventory import Inventory
from schemas import EntityKind, Incident, IncidentStatus

MAINTENANCE_GRACE = 3  # ticks around a window in which its symptoms still count as the work's
UPSTREAM_RECHECK = 10  # ticks between looks at an incident held under an upstream hardware alarm
CONCURRENT_TICKS = 20  # an incident this much older with the same symptoms may be the same fault
RECENT_TICKS = 20  # an incident closed this recently on or above a root may still be recovering
ESCALATED_TICKS = 120  # an incident escalated this recently is a person's: what it explains waits too
BURST_TICKS, BURST_PEERS = 3, 2  # this many other look-alike incidents this close: wait for the localizer


@dataclass(frozen=True)
class Announced:
    """What the announcements say about an incident: ``escalate``, or ``hold`` (for ``reason``,
    until ``until``)."""

    verdict: str
    explanation: str
    until: int = 0
    reason: str = ""


def explained(incident: Incident, inventory: Inventory, tick: int) -> Announced | None:
    """The announcement that explains ``incident`` at ``tick``, if any."""
    root = incident.candidates[incident.attempt].entity_id
    entities = [root, *(e for e in incident.symptoms if e != root)]
    for e in entities:
        alarm = inventory.hardware_alarm(e)
        if alarm is not None:
            return Announced("escalate", f"equipment alarm {alarm.text!r} on {e} since tick {alarm.tick}: no "
                                         f"tool fixes failed hardware; a person must (field service)")
    for up in inventory.upstream(root):
        alarm = inventory.hardware_alarm(up)
        if alarm is not None:
            return Announced("hold", f"equipment alarm {alarm.text!r} on {up}, which {root} depends on, "
                                     f"since tick {alarm.tick}: the symptoms are likely that hardware's; not "
                                     f"acting while it stands", tick + UPSTREAM_RECHECK, "upstream hardware")
    windows = [inventory.maintenance(e, tick, grace=MAINTENANCE_GRACE) for e in entities]
    covered = [w for w in windows if w is not None]
    if windows[0] is not None or len(covered) * 2 > len(entities):
        w = windows[0] or covered[0]
        share = f"{len(covered)} of {len(entities)} entities"
        return Announced("hold", f"planned maintenance {w.window_id} on {w.entity_id} (ticks {w.start_tick}–"
                                 f"{w.end_tick}) covers {share}: the symptoms are the work; not acting, "
                                 f"looking again after the window", w.end_tick + MAINTENANCE_GRACE,
                                 "maintenance")
    return None


KpisOf = Callable[[str, int, int], set[str]]  # (entity, tick, within) -> its KPIs anomalous in that span
Reaches = Callable[[str, EntityKind, EntityKind, str], bool]
"""(fault type, its root's kind, kind behind it, KPI) -> does that fault make the KPI anomalous there?"""


def part_of_another(incident: Incident, live: Mapping[str, Incident], inventory: Inventory,
                    kpis_of: KpisOf, *, recent: Mapping[str, Incident] | None = None,
                    reaches: Reaches | None = None) -> str:
    """Why this incident's symptoms are likely another incident's, or ``""``: that one is rooted on
    this root or on something it depends on, or opened just before with the same anomalous KPIs on
    several of its entities, or (with ``reaches``) this is a lone cell whose anomalous KPIs are mostly
    what the other one's fault does to the cells behind it, opened within ``CONCURRENT_TICKS`` of it (an
    inventory may miss the dependency, and cells behind a fault lag and recover at their own pace).
    The other one must still be explaining something now (:func:`_in_play`): a fix in progress, a
    fault just fixed whose KPIs may still be coming back, or one escalated to a person."""
    root = incident.candidates[incident.attempt].entity_id
    above = inventory.suspects_above(root)
    mine = kpis_of(root, incident.tick, CONCURRENT_TICKS // 4)
    kind = inventory.kind(root)
    lone_cell = kind is EntityKind.CELL and len(incident.symptoms) <= 2
    for iid, other in [*live.items(), *(recent or {}).items()]:
        if iid == incident.incident_id or not _in_play(other, incident.tick):
            continue
        live_now = other.status in (IncidentStatus.OPEN, IncidentStatus.MITIGATING)
        roots = {other.candidates[other.attempt].entity_id}
        if not live_now or other.attempt:  # where it began counts too: a later candidate may be a guess
            roots.add(other.candidates[0].entity_id)
        state = "open" if live_now else f"{other.status.value} at tick {other.tick}"
        if root in roots:
            return f"incident {iid} ({state}) is rooted on {root} too"
        if roots & above and _reached(other, min(roots & above), kind, mine, inventory, reaches):
            return f"incident {iid} ({state}) is rooted on {min(roots & above)}, and {root} depends on it"
        spread = [e for e in other.symptoms if e not in roots]
        if (mine and len(spread) >= 3 and incident.tick - other.opened_tick <= CONCURRENT_TICKS
                and mine <= set().union(*(kpis_of(e, incident.tick, CONCURRENT_TICKS) for e in spread))):
            return (f"{', '.join(sorted(mine))} on {root} also show on {len(spread)} entities of "
                    f"incident {iid} ({state}), opened at tick {other.opened_tick}: likely the same fault")
        if reaches is not None and lone_cell and mine and 0 <= incident.opened_tick - other.opened_tick \
                <= CONCURRENT_TICKS:
            cand = other.candidates[other.attempt if live_now else 0]
            other_kind = inventory.kind(cand.entity_id)
            shown = sum(reaches(cand.fault_type, other_kind, EntityKind.CELL, k) for k in mine) if (
                other_kind not in (None, EntityKind.CELL)) else 0
            if shown and 2 * shown >= len(mine):  # most of them: a fault's optional symptoms vary
                return (f"{', '.join(sorted(mine))} on {root} is mostly what {cand.fault_type} on "
                        f"{cand.entity_id} does to the cells behind it (incident {iid}, {state}, opened "
                        f"{incident.opened_tick - other.opened_tick} ticks before this one); the inventory "
                        f"may miss that edge")
    return ""


def _reached(other: Incident, up: str, kind: EntityKind | None, mine: set[str], inventory: Inventory,
             reaches: Reaches | None) -> bool:
    """Could the other incident's fault, on ``up``, make most of ``mine`` anomalous on an entity of
    ``kind`` behind it? (Without the learned reach, or without KPIs to judge by: assume so.) An AMF
    fault does not put loss on a link, though the link depends on the AMF."""
    up_kind = inventory.kind(up)
    if reaches is None or not mine or kind is None or up_kind is None:
        return True
    types = {c.fault_type for c in other.candidates if c.entity_id == up and c.fault_type}
    return not types or any(2 * sum(reaches(t, up_kind, kind, k) for k in mine) >= len(mine) for t in types)


def _in_play(other: Incident, tick: int) -> bool:
    """Is the other incident still explaining symptoms? Opened lately and not yet acted on, fixed or
    being fixed lately (recovery takes ticks), or escalated to a person lately."""
    if other.status is IncidentStatus.OPEN:
        return tick - other.opened_tick <= CONCURRENT_TICKS
    if other.status is IncidentStatus.ESCALATED:
        return tick - other.tick <= ESCALATED_TICKS
    return tick - other.tick <= RECENT_TICKS


def shared_upstream(incident: Incident, live: Mapping[str, Incident], inventory: Inventory,
                    kpis_of: KpisOf) -> str:
    """Why a lone cell's incident looks like one of several cells behind a fault further up that
    nothing has localized yet, or ``""``: ``BURST_PEERS`` or more other lone cells opened within
    ``CONCURRENT_TICKS`` show one of its anomalous KPIs, and everything they all depend on includes
    something this cell depends on (a UPF behind four cells on four sites, say)."""
    root = incident.candidates[incident.attempt].entity_id
    if len(incident.symptoms) > 2 or inventory.kind(root) is not EntityKind.CELL:
        return ""
    mine = kpis_of(root, incident.tick, BURST_TICKS)
    common = inventory.suspects_above(root)
    peers = []
    for other in live.values():
        theirs = other.candidates[other.attempt].entity_id
        if (theirs == root or len(other.symptoms) > 2 or inventory.kind(theirs) is not EntityKind.CELL
                or abs(other.opened_tick - incident.opened_tick) > CONCURRENT_TICKS
                or not mine & kpis_of(theirs, incident.tick, CONCURRENT_TICKS)):
            continue
        peers.append(theirs)
        common = common & inventory.suspects_above(theirs)
    if len(peers) < BURST_PEERS or not common:
        return ""
    up = sorted(common, key=lambda e: (inventory.kind(e) is EntityKind.CELL, e))
    return (f"{len(peers)} other lone cells ({', '.join(sorted(peers)[:3])}) show {', '.join(sorted(mine))} "
            f"too, and all of them depend on {', '.join(up[:2])}: likely a fault there not localized yet")


def burst(incident: Incident, live: Mapping[str, Incident], kpis_of: KpisOf) -> int:
    """How many other live incidents opened within ``BURST_TICKS`` share an anomalous KPI of this
    one's root (0 when fewer than ``BURST_PEERS``, or when this one already spans several
    entities): a burst of look-alike incidents on single entities is rarely as many faults."""
    if len(incident.symptoms) > 2:
        return 0
    root = incident.candidates[incident.attempt].entity_id
    mine = kpis_of(root, incident.tick, BURST_TICKS)
    peers = 0
    for iid, other in live.items():
        if iid == incident.incident_id or abs(other.opened_tick - incident.opened_tick) > BURST_TICKS:
            continue
        peers += bool(mine & kpis_of(other.candidates[other.attempt].entity_id, incident.tick, BURST_TICKS))
    return peers if peers >= BURST_PEERS else 0
