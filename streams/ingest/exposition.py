"""The Prometheus text exposition format (version 0.0.4), line by line, into samples.

Written here rather than taken from ``prometheus_client.parser``, which stops at the first
bad line: a scrape keeps every good line and rejects each bad one with its number.

A series' labels for the rules are the line's labels and ``__name__``, the sample's name (the
scraper adds ``instance``, the target's ``host:port``, to lines without one).
Whether it is a counter (for ``counter: auto``): the ``# TYPE`` of its family says so
(``counter``; a ``histogram``'s ``_bucket``, ``_sum`` and ``_count``; a ``summary``'s ``_sum``
and ``_count``); an untyped series is a counter when its name ends in ``_total``.
A timestamp on the line (milliseconds) is the sample's time, else the scrape's.
NaN and ±Inf values are skipped and counted as ``"not finite"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from streams.ingest.bounded import parse_number
from streams.ingest.mapping import Rules, Unusable
from streams.ingest.samples import Rejected, Sample, Tally

TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped", "unknown",
                   "gaugehistogram", "stateset", "info"})
_COUNTER_PARTS = {"counter": ("", "_total"), "histogram": ("_bucket", "_sum", "_count"),
                  "summary": ("_sum", "_count")}
_SUFFIXES = ("_total", "_bucket", "_sum", "_count")
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_PAIR = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\\n]|\\.)*)"\s*(,|(?=\}))')
_TAIL = re.compile(r"\s+(?P<value>\S+)(?:\s+(?P<ts>-?\d{1,18}))?\s*")
_CLOSE = re.compile(r"\s*\}")
_ESCAPE = re.compile(r"\\(.)")


class LineError(ValueError):
    """A line that is not valid exposition; the message says what is wrong."""


def parse_exposition(body: bytes, rules: Rules, *, source: str, scrape_time_s: float, tally: Tally,
                     target_labels: Mapping[str, str] | None = None) -> list[Sample | Rejected]:
    """The samples of one scraped ``body``, and a :class:`Rejected` per line that is not valid.

    ``target_labels`` (the scraper's ``instance``) are labels of every line that lacks them.

    Examples
    --------
    >>> from streams.ingest.mapping import parse_rules
    >>> rules = parse_rules([{"match": {"__name__": "up"}, "entity": "{job}"}])
    >>> parse_exposition(b'up{job="node"} 1\\nup{job=} 1\\n', rules, source="t",
    ...                  scrape_time_s=10.0, tally=Tally())  # doctest: +NORMALIZE_WHITESPACE
    [Sample(time_s=10.0, entity='node', kpi='up', value=1.0, counter=False),
     Rejected(source='t', reason='line 2: up{job=} 1: bad label at column 4', raw=b'up{job=} 1')]
    """
    types: dict[str, str] = {}
    out: list[Sample | Rejected] = []
    for number, raw in enumerate(body.split(b"\n"), start=1):
        try:
            found = _line(raw, types, rules, scrape_time_s, tally, target_labels or {})
        except LineError as exc:
            text = raw.decode("utf-8", "replace").rstrip("\r")
            out.append(Rejected(source, f"line {number}: {text[:120]}: {exc}", raw))
            continue
        if isinstance(found, Unusable):
            out.append(Rejected(source, f"line {number}: {found.reason}", raw))
        elif found is not None:
            out.append(found)
    return out


def _line(raw: bytes, types: dict[str, str], rules: Rules, scrape_time_s: float, tally: Tally,
          target_labels: Mapping[str, str]) -> Sample | Unusable | None:
    try:
        line = raw.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise LineError(f"not UTF-8 at byte {exc.start}") from None
    if not line.strip():
        return None
    if line.lstrip().startswith("#"):
        _comment(line, types)
        return None
    name, labels, value, ts_ms = _series(line)
    time_s = scrape_time_s if ts_ms is None else ts_ms / 1000.0
    return rules.sample({**target_labels, **labels, "__name__": name}, value, time_s=time_s,
                        counter=is_counter(name, types), tally=tally)


def _comment(line: str, types: dict[str, str]) -> None:
    parts = line.lstrip()[1:].split(None, 3)
    if not parts or parts[0] != "TYPE":
        return  # HELP, EOF and free comments carry nothing the samples need
    if len(parts) != 3 or not _NAME.fullmatch(parts[1]):
        raise LineError("expected # TYPE <metric name> <type>")
    if parts[2] not in TYPES:
        raise LineError(f"unknown metric type {parts[2]!r}")
    types[parts[1]] = parts[2]


def _series(line: str) -> tuple[str, dict[str, str], float, int | None]:
    line = line.lstrip()
    m = _NAME.match(line)
    if m is None:
        raise LineError("expected a metric name at column 1")
    name, pos, labels = m.group(0), m.end(), {}
    if line.startswith("{", pos):
        labels, pos = _labels(line, pos + 1)
    tail = _TAIL.fullmatch(line, pos)
    if tail is None:
        raise LineError(f"expected a value (and a timestamp in ms) at column {pos + 1}")
    value = parse_number(tail["value"])
    if value is None:
        raise LineError(f"{tail['value'][:40]!r} is not a number")
    return name, labels, value, None if tail["ts"] is None else int(tail["ts"])


def _labels(line: str, pos: int) -> tuple[dict[str, str], int]:
    labels: dict[str, str] = {}
    while True:
        end = _CLOSE.match(line, pos)
        if end is not None:
            return labels, end.end()
        pair = _PAIR.match(line, pos)
        if pair is None:
            raise LineError(f"bad label at column {pos + 1}")
        if pair[1] in labels:
            raise LineError(f"label {pair[1]!r} given twice")
        labels[pair[1]] = _ESCAPE.sub(lambda e: "\n" if e[1] == "n" else e[1], pair[2])
        pos = pair.end()


def is_counter(name: str, types: dict[str, str]) -> bool:
    """Whether the sample ``name`` is a monotonic counter, by the ``# TYPE`` lines seen so far.

    Examples
    --------
    >>> is_counter("rpc_seconds_count", {"rpc_seconds": "summary"}), is_counter("x_total", {})
    (True, True)
    """
    for suffix in ("", *_SUFFIXES):
        family = name.removesuffix(suffix) if suffix else name
        if (suffix and family == name) or family not in types:
            continue
        if types[family] in ("untyped", "unknown"):
            break
        return suffix in _COUNTER_PARTS.get(types[family], ())
    return name.endswith("_total")
