"""The idempotency ledger of a tool server: one request per key per caller, executed once.

A key (the action id a caller sends in ``_meta``) names one request: the caller,
the tool and its arguments (the target is one of them), fixed by a digest. The
same request again gets the first result; the same key with a different request
is refused. Each caller has a ledger of its own, so nobody can answer for, or
evict, another caller's keys, and anonymous traffic fills only the anonymous
ledger.

Bounds: ``capacity`` keys per caller and ``max_callers`` callers. A key is kept
at least ``retention_s`` seconds after its call: when a caller's ledger holds
``capacity`` keys younger than that, a new keyed call of that caller is refused
instead of forgetting an executed action (which a retry would then execute again).

>>> ledger = IdempotencyLedger(capacity=2, retention_s=60.0, clock=lambda: 0.0)
>>> d = request_digest("actuator", "restart_cell", {"cell_id": "cell-0001-1"})
>>> ledger.remember("actuator", "INC-1/0", d, "first result")
>>> ledger.check("actuator", "INC-1/0", d)
'first result'
>>> ledger.first("anonymous", "INC-1/0") is None
True
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from netmcp.gate import Refused
from netmcp.spec import KEY_REUSED, LEDGER_FULL


def request_digest(caller: str, tool: str, arguments: Mapping[str, Any]) -> str:
    """A digest of who calls which tool with which arguments (key order does not matter)."""
    text = json.dumps([caller, tool, arguments], sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def key_reused(caller: str, key: str) -> Refused:
    """The refusal of a key that ``caller`` used, or is using, for a different request."""
    return Refused(KEY_REUSED, f"idempotency key {key!r} was used by {caller} for a different request "
                   "(tool, target or arguments); a new request needs a new key", "refused",
                   {"reason": "key_reused", "key": key})


class IdempotencyLedger:
    """Per caller: key → (request digest, first result), bounded and retained.

    Parameters
    ----------
    capacity
        Keys remembered per caller.
    retention_s
        A key is never forgotten sooner than this after its call.
    max_callers
        Callers with a ledger; the least recently used one whose keys are all
        past retention makes room for a new caller.
    clock
        Monotonic seconds.
    """

    def __init__(self, *, capacity: int = 10_000, retention_s: float = 86_400.0, max_callers: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.retention_s, self.max_callers = capacity, retention_s, max_callers
        self.clock = clock
        self._books: OrderedDict[str, OrderedDict[str, tuple[str, Any, float]]] = OrderedDict()

    def __len__(self) -> int:
        return sum(len(b) for b in self._books.values())

    def first(self, caller: str, key: str) -> tuple[str, Any] | None:
        """``(digest, result)`` of the caller's first call with ``key``; None if there was none."""
        book = self._books.get(caller)
        entry = book.get(key) if book is not None else None
        return None if entry is None else (entry[0], entry[1])

    def check(self, caller: str, key: str, digest: str) -> Any | None:
        """The first result when ``key`` names this same request; None when the key is new.

        Raises
        ------
        Refused
            The key was used by this caller for a different request.
        """
        known = self.first(caller, key)
        if known is None:
            return None
        if known[0] != digest:
            raise key_reused(caller, key)
        return known[1]

    def check_room(self, caller: str) -> None:
        """Raise :class:`Refused` when ``caller``'s ledger cannot take one more key now."""
        book = self._books.get(caller)
        if book is None:
            if len(self._books) >= self.max_callers and self._spare_caller() is None:
                raise Refused(LEDGER_FULL, f"idempotency ledger full: {self.max_callers} callers hold "
                              "keys younger than their retention", "refused", {"reason": "ledger_full"})
            return
        if len(book) >= self.capacity and not self._expired(next(iter(book.values()))):
            raise Refused(LEDGER_FULL, f"idempotency ledger of {caller} full: {self.capacity} keys in the "
                          f"last {self.retention_s:g} s; retry later", "refused", {"reason": "ledger_full"})

    def remember(self, caller: str, key: str, digest: str, result: Any) -> None:
        """Keep the first result of ``key``; forget only keys past retention to stay in bounds."""
        book = self._books.get(caller)
        if book is None:
            if len(self._books) >= self.max_callers:
                spare = self._spare_caller()
                if spare is None:
                    return  # check_room refused this already; never forget a live key
                del self._books[spare]
            book = self._books[caller] = OrderedDict()
        self._books.move_to_end(caller)
        book[key] = (digest, result, self.clock())
        while len(book) > self.capacity and self._expired(next(iter(book.values()))):
            book.popitem(last=False)

    def _expired(self, entry: tuple[str, Any, float]) -> bool:
        return self.clock() - entry[2] >= self.retention_s

    def _spare_caller(self) -> str | None:
        for caller, book in self._books.items():  # least recently used first
            if all(self._expired(e) for e in book.values()):
                return caller
        return None
