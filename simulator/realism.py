"""How honest the world is: the ``realism`` and ``telemetry`` keys of a scenario.

Realistic values are the defaults. ``realism: ideal`` is the world the loop
was first graded in: every fault of a type looks the same, reaches every
entity behind its root at once, ends the tick the right tool is called
(whatever its parameters), the topology is published as it is, and no
telemetry is lost, late, duplicated or reset. Unit tests that check one
mechanism at a time use it; the scenario suite does not.

>>> Realism.model_validate("ideal").signature_jitter
0.0
>>> Realism.model_validate({"signature_jitter": 0.1}).onset
('step', 'ramp', 'intermittent')
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Onset = Literal["step", "ramp", "intermittent"]
_STRICT = ConfigDict(extra="forbid", frozen=True)


class Realism(BaseModel):
    """What varies from one fault to the next, and what acting costs.

    ``signature_jitter`` scales each episode's severity and each symptom's size
    by a factor drawn in ``1 ± jitter``; the same share is the chance that an
    optional symptom of the fault type's repertoire shows. ``partial_propagation``
    is the chance that an entity behind the root is *not* reached (each reached
    one has its own size and a lag of 0–3 ticks). ``onset`` lists the onset
    profiles an episode draws from. ``recovery_ticks`` bounds the ticks KPIs take
    to come back after a fix. ``topology_errors`` is the share of published
    dependency edges that are wrong or missing. ``recurrence`` is the chance that
    a fixed fault comes back later; ``parameters`` makes a tool fix a fault only
    when its parameters fall in the range the fault needs; ``side_effects`` gives
    right actions their costs (a scale-out takes ticks to come up, a reroute
    loads the alternative path).
    """

    model_config = _STRICT

    signature_jitter: float = Field(default=0.3, ge=0, le=0.9)
    partial_propagation: float = Field(default=0.3, ge=0, le=0.9)
    onset: tuple[Onset, ...] = Field(default=("step", "ramp", "intermittent"), min_length=1)
    recovery_ticks: tuple[int, int] = (2, 8)
    topology_errors: float = Field(default=0.02, ge=0, le=0.5)
    recurrence: float = Field(default=0.1, ge=0, le=1)
    parameters: bool = True
    side_effects: bool = True

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if data == "ideal":
            return IDEAL_FIELDS
        if data == "realistic":
            return {}
        if isinstance(data, str):
            raise ValueError(f"expected 'ideal', 'realistic' or a mapping of fields, not {data!r}")
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        lo, hi = self.recovery_ticks
        if not 0 <= lo <= hi <= 200:
            raise ValueError("recovery_ticks: must be [min, max] with 0 <= min <= max <= 200")
        if len(set(self.onset)) != len(self.onset):
            raise ValueError("onset: each profile once")
        return self

    @property
    def ideal(self) -> bool:
        """Nothing varies and acting costs nothing: the world of ``realism: ideal``."""
        return self == IDEAL


IDEAL_FIELDS: dict[str, Any] = {
    "signature_jitter": 0.0, "partial_propagation": 0.0, "onset": ("step",), "recovery_ticks": (0, 0),
    "topology_errors": 0.0, "recurrence": 0.0, "parameters": False, "side_effects": False}


class Telemetry(BaseModel):
    """Imperfect telemetry, per frame (``loss``, ``late``, ``duplicate``) or per entity and tick
    (``counter_reset``: the entity's counter-derived KPIs read 0 for that tick).

    A late frame arrives 1 to ``late_ticks`` ticks after its own tick, with its own tick number.
    """

    model_config = _STRICT

    loss: float = Field(default=0.01, ge=0, le=0.5)
    late: float = Field(default=0.02, ge=0, le=0.5)
    duplicate: float = Field(default=0.005, ge=0, le=0.5)
    counter_reset: float = Field(default=0.001, ge=0, le=0.1)
    late_ticks: int = Field(default=3, ge=1, le=30)

    @property
    def perfect(self) -> bool:
        return self.loss == self.late == self.duplicate == self.counter_reset == 0.0


IDEAL = Realism.model_validate(IDEAL_FIELDS)
PERFECT_TELEMETRY = Telemetry(loss=0.0, late=0.0, duplicate=0.0, counter_reset=0.0)
