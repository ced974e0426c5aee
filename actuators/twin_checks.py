"""The twin checked against outcomes: each executed prediction against the telemetry that followed it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from actuators.forecast import better


@dataclass(frozen=True)
class TwinCheck:
    """One executed prediction against what the telemetry showed after it.

    Badness is per tick, summed over the watched KPIs (sigmas past the slack):
    ``now`` at the decision, ``predicted`` (mean; ``low``–``high`` its 10–90%
    range) and ``actual`` over the last ticks of the horizon.
    """

    tool: str
    action_id: str
    now: float
    predicted: float
    low: float
    high: float
    p_improves: float
    actual: float

    @property
    def came_true(self) -> bool:
        """The twin said it would help (p ≥ ½) and it did, or said it would not and it did not."""
        return (self.p_improves >= 0.5) == bool(better(self.actual, self.now))

    @property
    def inside(self) -> bool:
        return self.low <= self.actual <= self.high


def accuracy(checks: Sequence[TwinCheck]) -> dict[str, dict[str, float]]:
    """Per tool: predictions checked, share that came true, share whose outcome fell inside the
    predicted 10–90% range, and the mean absolute error of the predicted badness at the end of
    the horizon (sigmas summed over the watched KPIs)."""
    out: dict[str, dict[str, float]] = {}
    for tool in sorted({c.tool for c in checks}):
        mine = [c for c in checks if c.tool == tool]
        out[tool] = {"checked": len(mine), "came_true": sum(c.came_true for c in mine) / len(mine),
                     "inside_interval": sum(c.inside for c in mine) / len(mine),
                     "mean_abs_error": float(np.mean([abs(c.predicted - c.actual) for c in mine]))}
    return out
