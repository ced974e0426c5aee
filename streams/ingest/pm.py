"""3GPP TS 32.435 performance-measurement files (``measCollecFile`` XML) into samples.

Read with ``defusedxml`` and DTDs forbidden, from at most ``max_bytes`` (gzip too: a
``.xml.gz`` is inflated to the same bound), so a hostile file cannot exhaust memory.

Per ``measInfo`` block: the time of its samples is ``granPeriod endTime`` (else the file
footer's ``measCollec endTime``; a time without an offset is read as UTC); the measurement
names come from ``measTypes`` (a space-separated list) or ``measType p=``; each ``measValue``
gives ``measResults`` (positional) or ``r p=``. A series' labels for the rules: ``__name__``
the measurement type, ``measObjLdn``, each ``Class=id`` part of the managed element's
``localDn`` and of ``measObjLdn`` (``NRCellDU: "3"``), ``managedElement`` (its ``localDn``),
``measInfoId`` and ``jobId`` when present. PM values count what happened within their
granularity period, so they are not monotonic counters (``counter: auto`` is false).

Missing values (``NIL``, empty), compound values (``1,4,0``) and every value of a ``measValue``
marked ``suspect`` are skipped and counted. A file that is not well-formed XML or not a
``measCollecFile`` is one :class:`Rejected`; a ``measInfo`` or ``measValue`` that does not
add up (a bad time, a count mismatch, an unknown ``p``, a non-number) is rejected on its own
and the rest of the file is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast
from xml.etree.ElementTree import Element, ParseError, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from streams.ingest.bounded import GZIP_MAGIC, TooLarge, gunzip, parse_number, read_head
from streams.ingest.mapping import Rules, Unusable
from streams.ingest.samples import Rejected, Sample, Tally

MAX_FILE_BYTES = 64 * 1024 * 1024
MISSING = frozenset({"", "NIL", "nil", "null"})


class InfoError(ValueError):
    """A ``measInfo`` or ``measValue`` that does not add up; the message says where and why."""


def read_pm_file(path: Path, rules: Rules, *, tally: Tally,
                 max_bytes: int = MAX_FILE_BYTES) -> list[Sample | Rejected]:
    """The samples of the PM file at ``path`` (plain or gzip), or a :class:`Rejected` saying why not."""
    source = f"pm:{path}"
    try:
        data = read_head(path, max_bytes)
        if data.startswith(GZIP_MAGIC):
            data = gunzip(data, max_bytes)
    except OSError as exc:
        return [Rejected(source, f"cannot read: {exc.strerror or exc}", b"")]
    except TooLarge as exc:
        return [Rejected(source, f"file {exc}", b"")]
    except ValueError as exc:
        return [Rejected(source, str(exc), b"")]
    return parse_pm(data, rules, source=source, tally=tally)


def parse_pm(data: bytes, rules: Rules, *, source: str, tally: Tally) -> list[Sample | Rejected]:
    """The samples of one ``measCollecFile`` document, and a :class:`Rejected` per part it cannot use."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except ParseError as exc:
        return [Rejected(source, f"not well-formed XML: {exc}", data)]
    except DefusedXmlException as exc:
        return [Rejected(source, f"refused XML: {type(exc).__name__}", data)]
    if _local(root.tag) != "measCollecFile":
        return [Rejected(source, f"root element is {_local(root.tag)[:80]!r}, not measCollecFile", data)]
    footer_end = _attr(_child(root, "fileFooter", "measCollec"), "endTime")
    out: list[Sample | Rejected] = []
    for d, md in enumerate(_children(root, "measData")):
        me = _child(md, "managedElement")
        base = {**_ldn(_attr(me, "localDn")), "managedElement": _attr(me, "localDn")}
        for i, info in enumerate(_children(md, "measInfo")):
            where = f"measData[{d}].measInfo[{i}]"
            out += _info(info, base, footer_end, rules, where=where, source=source, tally=tally)
    return out


def _info(info: Element, base: dict[str, str], footer_end: str, rules: Rules, *, where: str,
          source: str, tally: Tally) -> list[Sample | Rejected]:
    labels = dict(base)
    if info.get("measInfoId"):
        labels["measInfoId"] = cast(str, info.get("measInfoId"))
        where += f" {labels['measInfoId'][:80]!r}"
    if job := _attr(_child(info, "job"), "jobId"):
        labels["jobId"] = job
    try:
        time_s = _time(_attr(_child(info, "granPeriod"), "endTime") or footer_end)
        types = _types(info)
    except InfoError as exc:
        return [Rejected(source, f"{where}: {exc}", tostring(info))]
    out: list[Sample | Rejected] = []
    for v, mv in enumerate(_children(info, "measValue")):
        at = f"{where}.measValue[{v}] {mv.get('measObjLdn', '')[:120]!r}"
        try:
            for found in _values(mv, types, labels, time_s, rules, tally):
                out.append(Rejected(source, f"{at}: {found.reason}", tostring(mv))
                           if isinstance(found, Unusable) else found)
        except InfoError as exc:
            out.append(Rejected(source, f"{at}: {exc}", tostring(mv)))
    return out


def _values(mv: Element, types: dict[str, str], labels: dict[str, str], time_s: float, rules: Rules,
            tally: Tally) -> Iterator[Sample | Unusable]:
    results = _results(mv, types)
    if (_text(_child(mv, "suspect")) or "").lower() == "true":
        tally.skip("suspect", len(results))
        return
    ldn = mv.get("measObjLdn", "")
    series = {**labels, **_ldn(ldn), "measObjLdn": ldn}
    checked = []
    for name, text in results:
        if text in MISSING or "," in text:
            tally.skip("missing value" if text in MISSING else "compound value")
            continue
        value = parse_number(text)
        if value is None:
            raise InfoError(f"{name}: {text[:40]!r} is not a number")
        checked.append((name, value))
    for name, value in checked:
        found = rules.sample({**series, "__name__": name}, value, time_s=time_s, counter=False, tally=tally)
        if found is not None:
            yield found


def _types(info: Element) -> dict[str, str]:
    """Position (``"1"``, ``"2"``, ...) to measurement name, from ``measTypes`` or ``measType p=``."""
    listed = _child(info, "measTypes")
    if listed is not None:
        return {str(n): name for n, name in enumerate((listed.text or "").split(), start=1)}
    found = {}
    for mt in _children(info, "measType"):
        p, name = mt.get("p"), (mt.text or "").strip()
        if not p or not name:
            raise InfoError("a measType without p= or a name")
        found[p] = name
    if not found:
        raise InfoError("no measTypes or measType")
    return found


def _results(mv: Element, types: dict[str, str]) -> list[tuple[str, str]]:
    listed = _child(mv, "measResults")
    if listed is not None:
        values = (listed.text or "").split()
        if len(values) != len(types):
            raise InfoError(f"{len(values)} measResults for {len(types)} measTypes")
        return [(types[str(n)], text) for n, text in enumerate(values, start=1)]
    found = []
    for r in _children(mv, "r"):
        p = r.get("p", "")
        if p not in types:
            raise InfoError(f"r p={p[:20]!r}: no measType with that p")
        found.append((types[p], (r.text or "").strip()))
    return found


def _time(text: str) -> float:
    if not text:
        raise InfoError("no granPeriod endTime (nor a fileFooter endTime)")
    try:
        at = datetime.fromisoformat(text.strip())
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError):
        raise InfoError(f"endTime {text[:40]!r} is not an ISO 8601 time") from None


def _ldn(dn: str) -> dict[str, str]:
    """``"ManagedElement=gNB-1,NRCellDU=3"`` as ``{"ManagedElement": "gNB-1", "NRCellDU": "3"}``."""
    parts = (p.split("=", 1) for p in dn.split(",") if "=" in p)
    return {k.strip(): v.strip() for k, v in parts if k.strip()}


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(node: Element | None, name: str) -> list[Element]:
    return [c for c in node if _local(c.tag) == name] if node is not None else []


def _child(node: Element | None, *path: str) -> Element | None:
    for name in path:
        found = _children(node, name)
        node = found[0] if found else None
    return node


def _attr(node: Element | None, name: str) -> str:
    return (node.get(name) or "") if node is not None else ""


def _text(node: Element | None) -> str | None:
    return node.text.strip() if node is not None and node.text else None
