"""Human consent for untrusted agents: pending requests, one-time codes and PKCE (RFC 7636).

An agent that registered itself is not trusted with client credentials. It asks
for scopes; a human approves or denies the request; approval mints a short-lived
code bound to the agent, its redirect URI and its PKCE challenge, which the agent
trades once for a token at :meth:`~netmcp.auth.Authority.exchange_code`.
Requests and codes expire on the injected clock and their number is capped, so
an agent flooding the queue cannot grow memory without bound.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

PKCE_METHOD = "S256"


class UnknownConsent(LookupError):
    """No pending consent request has this id (never made, answered, or expired)."""


@dataclass(frozen=True)
class ConsentRequest:
    """What an agent asks a human to allow.

    Attributes
    ----------
    consent_id
        The id a human approves or denies.
    client_id, agent_name
        Who asks.
    scopes
        What it asks for.
    redirect_uri, state
        Where the answer goes, and the agent's opaque state echoed back.
    code_challenge
        The PKCE S256 challenge the code will be bound to.
    expires_at
        When the request lapses unanswered (clock seconds).
    text
        The request in words, for the human deciding.
    """

    consent_id: str
    client_id: str
    agent_name: str
    scopes: tuple[str, ...]
    redirect_uri: str
    state: str
    code_challenge: str
    expires_at: float
    text: str

    def answer_url(self, **params: str) -> str:
        """The redirect URI with the answer (``code`` and ``state``, or ``error``) in its query."""
        separator = "&" if "?" in self.redirect_uri else "?"
        return f"{self.redirect_uri}{separator}{urlencode(params)}"


@dataclass(frozen=True)
class IssuedCode:
    """A one-time authorization code and the approved request it redeems."""

    code: str
    request: ConsentRequest
    expires_at: float


def redirect_uri_fault(uri: str) -> str | None:
    """Why ``uri`` may not receive consent answers, or None (RFC 6749 §3.1.2, RFC 8252 §7.3).

    >>> redirect_uri_fault("http://agent.example/cb")
    'redirect_uri must use https unless on loopback'
    """
    parts = urlsplit(uri)
    if parts.scheme not in {"https", "http"} or not parts.hostname or parts.fragment:
        return "redirect_uri must be an absolute http(s) URL without a fragment"
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "::1", "localhost"}:
        return "redirect_uri must use https unless on loopback"
    return None


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE ``verifier`` (RFC 7636 §4.2).

    >>> pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_matches(verifier: str, challenge: str) -> bool:
    """Whether ``verifier`` answers ``challenge`` (constant-time comparison)."""
    if not verifier.isascii():
        return False
    return hmac.compare_digest(pkce_challenge(verifier), challenge)


class ConsentBook:
    """Pending consent requests and the codes approvals mint.

    Parameters
    ----------
    clock
        Seconds since the epoch.
    consent_lifetime_s
        How long a request waits for a human.
    code_lifetime_s
        How long an approved code may wait to be exchanged (RFC 6749 suggests ≤ 10 min).
    max_pending
        Requests kept at most; beyond it the oldest unanswered request is dropped.
    """

    def __init__(self, clock: Callable[[], float], *, consent_lifetime_s: float = 600.0,
                 code_lifetime_s: float = 60.0, max_pending: int = 256) -> None:
        self.clock = clock
        self.consent_lifetime_s, self.code_lifetime_s = consent_lifetime_s, code_lifetime_s
        self.max_pending = max_pending
        self._pending: OrderedDict[str, ConsentRequest] = OrderedDict()
        self._codes: OrderedDict[str, IssuedCode] = OrderedDict()

    def open(self, *, client_id: str, agent_name: str, scopes: tuple[str, ...], redirect_uri: str,
             state: str, code_challenge: str, text: str) -> ConsentRequest:
        """File a request for a human to answer."""
        self._purge()
        request = ConsentRequest(
            consent_id=secrets.token_urlsafe(12), client_id=client_id, agent_name=agent_name,
            scopes=scopes, redirect_uri=redirect_uri, state=state, code_challenge=code_challenge,
            expires_at=self.clock() + self.consent_lifetime_s, text=text)
        _put_bounded(self._pending, request.consent_id, request, self.max_pending)
        return request

    def pending(self) -> list[ConsentRequest]:
        """Requests waiting for a human, oldest first."""
        self._purge()
        return list(self._pending.values())

    def approve(self, consent_id: str) -> IssuedCode:
        """Approve a request: it leaves the queue and a one-time code is minted for it."""
        request = self._take(consent_id)
        issued = IssuedCode(code=secrets.token_urlsafe(32), request=request,
                            expires_at=self.clock() + self.code_lifetime_s)
        _put_bounded(self._codes, issued.code, issued, self.max_pending)
        return issued

    def deny(self, consent_id: str) -> ConsentRequest:
        """Deny a request: it leaves the queue and no code exists for it."""
        return self._take(consent_id)

    def redeem(self, code: str) -> IssuedCode | None:
        """The code's approval, removed so it cannot be redeemed again; None if unknown or used.

        An expired code is returned too (and removed): the caller says why it refuses.
        """
        return self._codes.pop(code, None)

    def _take(self, consent_id: str) -> ConsentRequest:
        self._purge()
        try:
            return self._pending.pop(consent_id)
        except KeyError:
            raise UnknownConsent(f"no pending consent request {consent_id!r}") from None

    def _purge(self) -> None:
        now = self.clock()
        for book in (self._pending, self._codes):
            for key in [k for k, entry in book.items() if entry.expires_at < now]:
                del book[key]


def _put_bounded(book: OrderedDict[str, Any], key: str, entry: Any, cap: int) -> None:
    book[key] = entry
    while len(book) > cap:
        book.popitem(last=False)  # the oldest goes first
