"""Base of every record on the bus: a schema version, no unknown fields on produce."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1
MAX_TICK = 2**53 - 1
"""The largest tick a record may carry: exact as a JSON number in every language (a double)."""


class Record(BaseModel):
    """A record on the bus.

    Produced records forbid unknown fields; :meth:`decode` tolerates them, so a
    newer producer does not break an older consumer. Decoding is strict about
    types: a tick is a JSON integer, never ``true``, ``"5"`` or ``5.0``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: ClassVar[str]
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def decode(cls, data: bytes | str) -> Self:
        """Parse a record from JSON, ignoring fields this version does not know."""
        return cls.model_validate_json(data, extra="ignore", strict=True)

    def encode(self) -> bytes:
        """Serialise to compact JSON bytes."""
        return self.model_dump_json().encode()
