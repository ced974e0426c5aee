"""Recordings: JSON Lines (gzip when the name ends in .gz), one bus record per line.

A line is ``{"topic", "key", "timestamp_ms", "value"}`` where ``value`` is
the record's bytes as UTF-8 text, or ``value_b64`` (base64) for bytes that are
not UTF-8, so a malformed record is replayed exactly as it was received.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO


class RecordingError(ValueError):
    """A recording that cannot be read; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded bus record."""

    topic: str
    key: str | None
    timestamp_ms: int
    value: bytes

    def to_line(self) -> str:
        body: dict[str, object] = {"topic": self.topic, "key": self.key,
                                   "timestamp_ms": self.timestamp_ms}
        try:
            body["value"] = self.value.decode("utf-8")
        except UnicodeDecodeError:
            body["value_b64"] = base64.b64encode(self.value).decode()
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_line(cls, line: str) -> Recorded:
        body = json.loads(line)
        text = body.get("value")
        value = text.encode("utf-8") if text is not None else base64.b64decode(body["value_b64"])
        return cls(topic=body["topic"], key=body.get("key"), timestamp_ms=int(body["timestamp_ms"]),
                   value=value)


def _open(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")
    return path.open(mode, encoding="utf-8")


@contextmanager
def recording_writer(path: Path) -> Iterator[IO[str]]:
    """A text stream to write :meth:`Recorded.to_line` lines to."""
    with _open(path, "w") as f:
        yield f


def read_recording(path: Path) -> Iterator[Recorded]:
    """The records of a recording, in order.

    Raises
    ------
    RecordingError
        When the file is missing or a line is not a recorded record.
    """
    try:
        f = _open(path, "r")
    except OSError as exc:
        raise RecordingError(f"cannot read recording {path}: {exc.strerror}") from None
    with f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield Recorded.from_line(line)
            except (ValueError, KeyError, TypeError) as exc:
                raise RecordingError(f"{path}:{n}: not a recorded record ({exc})") from None
