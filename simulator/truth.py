"""Ground truth: what happened to each fault, and what a tool call did. For the scorer, not the loop."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FaultRecord:
    """Ground truth of one fault."""

    fault_id: str
    type: str
    root: str
    start: int
    severity: float
    natural_end: int | None  # None: lasts until remediated
    end: int | None = None
    ended_by: str | None = None  # "action", "natural", or None while active / at end of run
    fixed_tick: int | None = None  # when the call that ends it landed (recovery follows)
    onset: str = "step"
    recurs: str | None = None  # the fault this one brings back
    fixable: bool = True


@dataclass(frozen=True)
class ToolOutcome:
    """What a remediation call did to the network; ``ok`` is False when the tool itself failed."""

    fixed: tuple[str, ...]
    detail: str
    ok: bool = True
    partly: tuple[str, ...] = ()
