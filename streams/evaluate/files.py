"""Reading data from outside netloop (CSV and JSON files), with errors that name the file and the field."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np


class ExternalDataError(ValueError):
    """Outside data that cannot be used; the message names the file and the field or row."""


def read_json(path: Path) -> object:
    """The parsed JSON of ``path``."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ExternalDataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExternalDataError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ExternalDataError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} "
                                f"column {exc.colno}") from None


def read_csv(path: Path, required: Sequence[str], *, delimiter: str | None = ","
             ) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file that must have the ``required`` columns and ≥ 1 row.

    Every row must have as many cells as the header; the error names the line. With
    ``delimiter=None`` the separator is ``;`` when the header has one and no comma, else ``,``.
    """
    try:
        with path.open(newline="") as f:
            if delimiter is None:
                first = f.readline()
                delimiter = ";" if ";" in first and "," not in first else ","
                f.seek(0)
            table = list(csv.reader(f, delimiter=delimiter))
    except FileNotFoundError:
        raise ExternalDataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ExternalDataError(f"{path}: cannot read: {exc}") from None
    if not table:
        raise ExternalDataError(f"{path}: empty file, expected a header with {', '.join(required)}")
    header = [h.strip() for h in table[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise ExternalDataError(f"{path}: missing column {', '.join(repr(c) for c in missing)} "
                                f"(header: {','.join(header)})")
    rows = [r for r in table[1:] if r]
    for line, r in enumerate(table[1:], start=2):
        if r and len(r) != len(header):
            raise ExternalDataError(f"{path}: line {line} has {len(r)} cells, the header {len(header)}")
    if not rows:
        raise ExternalDataError(f"{path}: no data rows")
    return header, rows


def parse_number(text: str, path: Path, line: int, column: str) -> float:
    """A finite number from a CSV cell; the error names the file, the line and the column."""
    try:
        v = float(text)
    except ValueError:
        raise ExternalDataError(f"{path}: line {line}: {column}: {text!r} is not a number") from None
    if not np.isfinite(v):
        raise ExternalDataError(f"{path}: line {line}: {column}: {text!r} is not finite")
    return v


def parse_timestamp(text: object, where: str) -> np.datetime64:
    """An ISO 8601 timestamp (``2014-04-10 07:15:00.000000``) as ``datetime64[us]``.

    A timestamp with a UTC offset is converted to UTC; ``where`` names the field in the error.
    """
    if isinstance(text, str):
        try:
            ts = datetime.fromisoformat(text.strip())
        except ValueError:
            pass
        else:
            return np.datetime64(_utc(ts), "us")
    raise ExternalDataError(f"{where}: {text!r} is not a timestamp (e.g. 2014-04-10 07:15:00)")


def _utc(ts: datetime) -> datetime:
    """A naive datetime in UTC (numpy keeps no time zone)."""
    offset = ts.utcoffset()
    return ts.replace(tzinfo=None) - offset if offset is not None else ts
