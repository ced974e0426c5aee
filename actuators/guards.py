"""Guards: limits every action must pass before it reaches the network.

- ``dedup``: one action per incident step (the action id is ``<incident>/<attempt>``);
- ``entity_rate``: at most ``per_entity`` actions on one entity per window;
- ``tool_rate``: at most ``per_tool`` calls of one tool per window;
- ``blast_radius``: at most ``blast_radius`` distinct entities changed per window.

Windows are ``window_ticks`` long and slide with the loop's ticks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from schemas import ActionRequest, GuardVerdict


@dataclass(frozen=True)
class GuardConfig:
    """The limits; defaults leave room for every fault of the built-in scenarios."""

    window_ticks: int = 60
    per_entity: int = 2
    per_tool: int = 6
    blast_radius: int = 8


@dataclass
class Guards:
    """Checks actions against the limits and remembers the ones that went ahead."""

    config: GuardConfig = field(default_factory=GuardConfig)
    _seen: set[str] = field(default_factory=set)
    _done: deque[tuple[int, str, str]] = field(default_factory=deque)  # (tick, tool, target)

    def check(self, action: ActionRequest, tick: int) -> list[GuardVerdict]:
        """Every guard's verdict on ``action`` at ``tick``; nothing is remembered."""
        c = self.config
        recent = [(t, tool, target) for t, tool, target in self._done if t > tick - c.window_ticks]
        on_entity = sum(target == action.target for _, _, target in recent)
        of_tool = sum(tool == action.tool for _, tool, _ in recent)
        entities = {target for _, _, target in recent}
        w = f"in the last {c.window_ticks} ticks"
        return [
            GuardVerdict(guard="dedup", allowed=action.action_id not in self._seen,
                         detail=f"action {action.action_id} " + (
                             "already taken" if action.action_id in self._seen else "is new")),
            GuardVerdict(guard="entity_rate", allowed=on_entity < c.per_entity,
                         detail=f"{on_entity} action(s) on {action.target} {w}, limit {c.per_entity}"),
            GuardVerdict(guard="tool_rate", allowed=of_tool < c.per_tool,
                         detail=f"{of_tool} call(s) of {action.tool} {w}, limit {c.per_tool}"),
            GuardVerdict(guard="blast_radius",
                         allowed=action.target in entities or len(entities) < c.blast_radius,
                         detail=f"{len(entities)} entities changed {w}, limit {c.blast_radius}"),
        ]

    def commit(self, action: ActionRequest, tick: int) -> None:
        """``action`` goes ahead: it counts against the limits from now on."""
        self._seen.add(action.action_id)
        self._done.append((tick, action.tool, action.target))
        while self._done and self._done[0][0] <= tick - self.config.window_ticks:
            self._done.popleft()
