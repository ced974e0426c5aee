"""Reading untrusted bytes within a limit: a file's head, a gzip stream, a number's spelling."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
_NUMBER = re.compile(r"[+-]?(?:inf|infinity|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)", re.IGNORECASE)


class TooLarge(ValueError):
    """Input past its limit; the message gives the limit."""


def read_head(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, or :class:`TooLarge` if it has more than ``limit``.

    Reads at most ``limit + 1`` bytes whatever the file's size.
    """
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"larger than {limit} bytes")
    return data


def gunzip(body: bytes, limit: int) -> bytes:
    """``body`` un-gzipped; :class:`TooLarge` past ``limit`` bytes, ``ValueError`` if not gzip.

    A small bomb cannot make a large buffer: at most ``limit + 1`` bytes are inflated.

    Examples
    --------
    >>> import gzip
    >>> gunzip(gzip.compress(b"abc"), 10)
    b'abc'
    """
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflate.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"not gzip: {exc}") from None
    if len(out) > limit or inflate.unconsumed_tail:
        raise TooLarge(f"larger than {limit} bytes once un-gzipped")
    if not inflate.eof:
        raise ValueError("gzip stream ends early")
    return out


def parse_number(text: str) -> float | None:
    """``text`` as a float if it is a plain decimal number, inf or nan; else None.

    Stricter than ``float()``, which also takes ``1_000`` and surrounding blanks.

    Examples
    --------
    >>> parse_number("1.5e3"), parse_number("NaN") != parse_number("NaN"), parse_number("1_000")
    (1500.0, True, None)
    """
    return float(text) if _NUMBER.fullmatch(text) else None
