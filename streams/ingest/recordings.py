"""Recorded telemetry in CSV or TSV, wide or long, as samples.

- **wide**: ``time`` then one column per series, named ``<entity>:<kpi>``
  (split at the last colon; the layout of the root-cause cases under
  ``../shared/data/rca/``); an empty cell is not a measurement;
- **long**: ``time,entity,kpi,value``, one measurement a row.

``time`` is seconds since the epoch or an ISO 8601 timestamp. A series is
the labels ``{__name__: kpi, entity: entity, column: header}``; with mapping
rules (:mod:`streams.ingest.mapping`) they name the sample's entity and KPI
(an interface named in the KPI, ``Gi2-rx-pps``, can become an entity of its
own); without, the entity and KPI are the file's. KPI names are made
identifiers: lower case, other characters than letters and digits as ``_``
(``rx-pps`` → ``rx_pps``). A row with a bad time or value is rejected with
its line and column; the others are read.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO

from streams.ingest.mapping import Rules, Unusable
from streams.ingest.samples import Rejected, Sample, Tally

Layout = Literal["wide", "long"]
_NOT_NAME = re.compile(r"[^a-z0-9]+")


class RecordingError(ValueError):
    """A recording that cannot be read at all; the message names the file and what is wrong."""


def kpi_name(text: str) -> str:
    """A KPI name as the catalogue writes them.

    >>> kpi_name("Gi2-rx-pps"), kpi_name("cpu-util")
    ('gi2_rx_pps', 'cpu_util')
    """
    return _NOT_NAME.sub("_", text.strip().lower()).strip("_")


def read_recording(path: Path, layout: Layout, *, rules: Rules | None = None,
                   tally: Tally | None = None) -> Iterator[Sample | Rejected]:
    """The samples of a wide or long CSV/TSV file, in file order; bad rows as :class:`Rejected`."""
    tally = tally if tally is not None else Tally()
    try:
        f = path.open(newline="", encoding="utf-8-sig")  # a spreadsheet's export starts with a BOM
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror}") from None
    with f:  # closed however the reading ends: a bad header, a reader that stops early
        header, rows = _table(path, f)
        if layout == "wide":
            yield from _wide(path, header, rows, rules, tally)
        else:
            yield from _long(path, header, rows, rules, tally)


def _table(path: Path, f: TextIO) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    try:
        first = f.readline()
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RecordingError(f"{path}: not UTF-8 text") from None
    delimiter = "\t" if "\t" in first else ";" if ";" in first and "," not in first else ","
    header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter), [])]
    if not header or header[0] != "time":
        raise RecordingError(f"{path}: the first column must be 'time' (header: {','.join(header)[:200]})")

    def rows() -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            for line, row in enumerate(reader, start=2):
                if row:
                    yield line, row
        except UnicodeDecodeError:
            raise RecordingError(f"{path}: after line {reader.line_num + 1}: not UTF-8 text") from None

    return header, rows()


def _wide(path, header, rows, rules, tally) -> Iterator[Sample | Rejected]:
    series = []
    for col in header[1:]:
        entity, sep, kpi = col.rpartition(":")
        if not sep or not entity or not kpi:
            raise RecordingError(f"{path}: column {col!r}: expected <entity>:<kpi>")
        series.append({"__name__": kpi, "entity": entity, "column": col})
    for line, row in rows:
        if len(row) != len(header):
            yield _bad(path, line, f"{len(row)} cells, the header {len(header)}", row)
            continue
        when = _time(row[0])
        if when is None:
            yield _bad(path, line, f"time: {row[0]!r} is neither epoch seconds nor ISO 8601", row)
            continue
        for labels, cell in zip(series, row[1:], strict=True):
            if cell.strip():
                yield from _sample(path, line, labels, cell, when, rules, tally)


def _long(path, header, rows, rules, tally) -> Iterator[Sample | Rejected]:
    if header != ["time", "entity", "kpi", "value"]:
        raise RecordingError(f"{path}: a long recording's header is time,entity,kpi,value "
                             f"(header: {','.join(header)[:200]})")
    for line, row in rows:
        if len(row) != 4:
            yield _bad(path, line, f"{len(row)} cells, expected 4", row)
            continue
        when = _time(row[0])
        if when is None:
            yield _bad(path, line, f"time: {row[0]!r} is neither epoch seconds nor ISO 8601", row)
            continue
        labels = {"__name__": row[2].strip(), "entity": row[1].strip(), "column": row[2].strip()}
        if row[3].strip():
            yield from _sample(path, line, labels, row[3], when, rules, tally)


def _sample(path, line, labels, cell, when, rules, tally) -> Iterator[Sample | Rejected]:
    try:
        value = float(cell)
    except ValueError:
        yield _bad(path, line, f"{labels['column']}: {cell!r} is not a number", [cell])
        return
    if rules is None:
        if math.isfinite(value):
            yield tally.count(Sample(when, labels["entity"], kpi_name(labels["__name__"]), value))
        else:
            tally.skip("not finite")
        return
    got = rules.sample(labels, value, time_s=when, counter=False, tally=tally)
    if isinstance(got, Unusable):
        yield _bad(path, line, f"{labels['column']}: {got.reason}", [cell])
    elif got is not None:
        yield tally.count(Sample(got.time_s, got.entity, kpi_name(got.kpi), got.value, got.counter))


def _time(text: str) -> float | None:
    text = text.strip()
    try:
        t = float(text)
    except ValueError:
        try:
            ts = datetime.fromisoformat(text)
        except ValueError:
            return None
        return ts.timestamp() if ts.tzinfo else ts.replace(tzinfo=UTC).timestamp()
    return t if math.isfinite(t) else None


def _bad(path: Path, line: int, reason: str, row: list[str]) -> Rejected:
    return Rejected(f"recording:{path}", f"line {line}: {reason}", ",".join(row).encode())
