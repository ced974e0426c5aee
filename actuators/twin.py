"""The digital-twin seam: what the decide step asks before a risky action.

The simulator's :class:`~simulator.NetworkTwin` implements :class:`Twin` by
copying its state; a twin of a real network would be fed by its telemetry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from schemas import ToolCall, TwinPrediction


class Twin(Protocol):
    """Predicts what a tool call would do to the watched entities, against doing nothing."""

    def predict(self, call: ToolCall, *, watch: Sequence[str], horizon: int) -> TwinPrediction: ...
