"""The token authority of the NetMCP management server, and the scopes it grants.

Two kinds of client get tokens (Ed25519-signed JWTs, see :mod:`netmcp.tokens`):

- **trusted clients** configured by the operator (the act workers, the tool
  servers) use the client-credentials grant;
- **untrusted agents** register themselves and get a token only through the
  authorization-code grant with PKCE, after a human approves their request
  (:mod:`netmcp.consent`).

Secrets are kept as salted scrypt hashes. Every refused grant is logged on
``netloop.netmcp.auth`` with the client id and the reason, never the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NoReturn

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from netmcp.consent import (
    PKCE_METHOD,
    ConsentBook,
    ConsentRequest,
    UnknownConsent,
    pkce_matches,
    redirect_uri_fault,
)
from netmcp.tokens import ALGORITHM, AUDIENCE, TokenRejected, TokenVerifier, jwk_set, key_id

NETWORK_READ = "network:read"
NETWORK_ACT = "network:act"
NETMCP_CONFIRM = "netmcp:confirm"
NETMCP_REGISTER = "netmcp:register"
SCOPES = {
    NETWORK_READ: "read the network's KPIs, topology and alarms",
    NETWORK_ACT: "change the network (restarts, reroutes, parameter changes)",
    NETMCP_CONFIRM: "confirm tool calls that need a human's confirmation",
    NETMCP_REGISTER: "register tool servers with the management server",
}

__all__ = [
    "NETMCP_CONFIRM", "NETMCP_REGISTER", "NETWORK_ACT", "NETWORK_READ", "SCOPES",
    "Authority", "ConsentRequest", "GrantRefused", "TokenGrant", "TokenRejected", "TokenVerifier",
    "UnknownConsent",
]

log = logging.getLogger("netloop.netmcp.auth")


class GrantRefused(Exception):
    """A token or authorization request the authority refuses, as an RFC 6749 error.

    Parameters
    ----------
    error
        The RFC 6749 error code (``invalid_client``, ``invalid_grant``, ``invalid_scope``,
        ``unauthorized_client``, ``invalid_request``).
    description
        What was wrong, naming the offending field or scope.
    """

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description = error, description


@dataclass(frozen=True)
class TokenGrant:
    """A successful token response (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"


@dataclass(frozen=True)
class _Client:
    client_id: str
    name: str
    salt: bytes
    secret_hash: bytes
    scopes: frozenset[str]
    redirect_uri: str | None  # set for agents, which may only use the authorization-code grant


class Authority:
    """Issues and signs NetMCP access tokens.

    Parameters
    ----------
    issuer
        The ``iss`` of every token.
    clock
        Seconds since the epoch.
    private_key_pem
        An Ed25519 private key (PKCS#8 PEM, unencrypted); a fresh one when None.
    token_lifetime_s
        How long a token is valid.
    max_agents
        Self-registered agents kept at most; registration is refused beyond.
    """

    def __init__(self, *, issuer: str = "netmcp-management", clock: Callable[[], float] = time.time,
                 private_key_pem: bytes | None = None, token_lifetime_s: int = 900,
                 max_agents: int = 1000) -> None:
        self.issuer, self.clock, self.token_lifetime_s = issuer, clock, token_lifetime_s
        self.max_agents = max_agents
        self._key = _load_key(private_key_pem)
        self._kid = key_id(self._key.public_key())
        self._clients: dict[str, _Client] = {}
        self._consents = ConsentBook(clock)

    def add_client(self, client_id: str, secret: str, scopes: Iterable[str]) -> None:
        """Trust ``client_id`` with ``secret`` for the client-credentials grant of ``scopes``."""
        if not client_id:
            raise ValueError("client_id must not be empty")
        if len(secret) < 16:
            raise ValueError(f"secret of {client_id!r} must be at least 16 characters")
        self._clients[client_id] = _new_client(client_id, client_id, secret, scopes, None)

    def register_agent(self, name: str, redirect_uri: str, scopes: Iterable[str]) -> tuple[str, str]:
        """Register an untrusted agent (RFC 7591); returns its ``(client_id, client_secret)``.

        The agent may ask for ``scopes`` but gets a token only after a human
        approves (:meth:`authorize`, :meth:`approve`, :meth:`exchange_code`).
        """
        if not name.strip() or len(name) > 100:
            raise GrantRefused("invalid_client_metadata", "client_name must have 1-100 characters")
        fault = redirect_uri_fault(redirect_uri)
        if fault is not None:
            raise GrantRefused("invalid_redirect_uri", fault)
        if sum(c.redirect_uri is not None for c in self._clients.values()) >= self.max_agents:
            raise GrantRefused("invalid_client_metadata", "too many agents are registered")
        client_id, secret = f"agent-{uuid.uuid4().hex[:16]}", secrets.token_urlsafe(32)
        try:
            self._clients[client_id] = _new_client(client_id, name, secret, scopes, redirect_uri)
        except ValueError as e:
            raise GrantRefused("invalid_client_metadata", str(e)) from None
        return client_id, secret

    def issue(self, client_id: str, secret: str, scopes: list[str] | None = None) -> TokenGrant:
        """A token for a trusted client (client-credentials grant); all its scopes when None."""
        client = self._authenticate(client_id, secret)
        if client.redirect_uri is not None:
            self._refuse(client_id, "unauthorized_client", "a registered agent may not use client "
                         "credentials; it must ask for consent (authorization code grant)")
        return self._grant(client, self._allowed(client, scopes))

    def authorize(self, client_id: str, redirect_uri: str, scopes: list[str] | None, state: str,
                  code_challenge: str, code_challenge_method: str = PKCE_METHOD) -> ConsentRequest:
        """File an agent's request for ``scopes``, pending a human's answer."""
        client = self._clients.get(client_id)
        if client is None or client.redirect_uri is None:
            self._refuse(client_id, "unauthorized_client", f"{client_id!r} is not a registered agent")
        if redirect_uri != client.redirect_uri:
            self._refuse(client_id, "invalid_request", "redirect_uri is not the one registered")
        if code_challenge_method != PKCE_METHOD or not 43 <= len(code_challenge) <= 128:
            self._refuse(client_id, "invalid_request",
                         f"code_challenge must be a PKCE {PKCE_METHOD} challenge (43-128 characters)")
        if len(state) > 512:
            self._refuse(client_id, "invalid_request", "state must have at most 512 characters")
        granted = self._allowed(client, scopes)
        text = (f"Agent {client.name!r} ({client_id}) asks to: "
                + "; ".join(f"{s} — {SCOPES[s]}" for s in granted)
                + f". On approval it is sent to {redirect_uri}.")
        return self._consents.open(client_id=client_id, agent_name=client.name, scopes=granted,
                                  redirect_uri=redirect_uri, state=state,
                                  code_challenge=code_challenge, text=text)

    def pending(self) -> list[ConsentRequest]:
        """Consent requests waiting for a human, oldest first."""
        return self._consents.pending()

    def approve(self, consent_id: str) -> str:
        """Approve a request; the redirect URL carrying the one-time code and the agent's state.

        Raises
        ------
        UnknownConsent
            When no request with this id is pending.
        """
        issued = self._consents.approve(consent_id)
        return issued.request.answer_url(code=issued.code, state=issued.request.state)

    def deny(self, consent_id: str) -> str:
        """Deny a request; the redirect URL telling the agent so (``error=access_denied``)."""
        request = self._consents.deny(consent_id)
        log.warning("consent denied: client=%s consent=%s", request.client_id, consent_id)
        return request.answer_url(error="access_denied", state=request.state)

    def exchange_code(self, client_id: str, secret: str, code: str, code_verifier: str,
                      redirect_uri: str) -> TokenGrant:
        """A token for an agent whose request a human approved (authorization-code grant)."""
        client = self._authenticate(client_id, secret)
        issued = self._consents.redeem(code)  # gone now: a code is tried once, right or wrong
        if issued is None:
            self._refuse(client_id, "invalid_grant", "code is unknown, expired or already used")
        if issued.expires_at < self.clock():
            self._refuse(client_id, "invalid_grant", "code expired")
        if issued.request.client_id != client_id:
            self._refuse(client_id, "invalid_grant", "code was issued to another client")
        if redirect_uri != issued.request.redirect_uri:
            self._refuse(client_id, "invalid_grant", "redirect_uri differs from the authorization's")
        if not pkce_matches(code_verifier, issued.request.code_challenge):
            self._refuse(client_id, "invalid_grant", "code_verifier does not match the code_challenge")
        return self._grant(client, issued.request.scopes)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public key as a JWK set."""
        return jwk_set(self._key.public_key())

    def verifier(self, *, leeway_s: float = 0.0) -> TokenVerifier:
        """A verifier for this authority's tokens, on the same clock (so no skew by default)."""
        return TokenVerifier(self._key.public_key(), issuer=self.issuer, clock=self.clock,
                             leeway_s=leeway_s)

    def private_key_pem(self) -> bytes:
        """The signing key as unencrypted PKCS#8 PEM, to keep tokens valid across restarts."""
        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())

    def _authenticate(self, client_id: str, secret: str) -> _Client:
        client = self._clients.get(client_id)
        if client is None:
            _scrypt(secret, b"\0" * 16)  # same work as a known client: timing does not tell
            self._refuse(client_id, "invalid_client", "unknown client or wrong secret",
                         log_reason="unknown client")
        if not hmac.compare_digest(_scrypt(secret, client.salt), client.secret_hash):
            self._refuse(client_id, "invalid_client", "unknown client or wrong secret",
                         log_reason="wrong secret")
        return client

    def _allowed(self, client: _Client, scopes: list[str] | None) -> tuple[str, ...]:
        wanted = sorted(client.scopes) if scopes is None else list(dict.fromkeys(scopes))
        for scope in wanted:
            if scope not in client.scopes:
                self._refuse(client.client_id, "invalid_scope",
                             f"scope {scope!r} is not granted to {client.client_id!r}")
        return tuple(wanted)

    def _grant(self, client: _Client, scopes: tuple[str, ...]) -> TokenGrant:
        now = int(self.clock())
        claims = {"iss": self.issuer, "sub": client.client_id, "aud": AUDIENCE, "scope": " ".join(scopes),
                  "iat": now, "exp": now + self.token_lifetime_s, "jti": uuid.uuid4().hex}
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid})
        log.info("token issued: client=%s scope=%s", client.client_id, claims["scope"])
        return TokenGrant(access_token=token, expires_in=self.token_lifetime_s, scope=claims["scope"])

    @staticmethod
    def _refuse(client_id: str, error: str, description: str, *,
                log_reason: str | None = None) -> NoReturn:
        log.warning("grant refused: client=%s reason=%s", client_id, log_reason or description)
        raise GrantRefused(error, description)


def _new_client(client_id: str, name: str, secret: str, scopes: Iterable[str],
                redirect_uri: str | None) -> _Client:
    scopes = frozenset(scopes)
    unknown = sorted(scopes - SCOPES.keys())
    if unknown:
        raise ValueError(f"scopes: unknown scope {unknown[0]!r} (known: {', '.join(sorted(SCOPES))})")
    salt = secrets.token_bytes(16)
    return _Client(client_id=client_id, name=name, salt=salt, secret_hash=_scrypt(secret, salt),
                   scopes=scopes, redirect_uri=redirect_uri)


def _scrypt(secret: str, salt: bytes) -> bytes:
    # Secrets are long (≥ 16 characters; 256 random bits for agents), so a moderate work factor
    # (~10 ms) protects them at rest; a password-grade one would let a flood of wrong secrets
    # stall the management server's event loop.
    return hashlib.scrypt(secret.encode(), salt=salt, n=2**12, r=8, p=1, dklen=32)


def _load_key(pem: bytes | None) -> Ed25519PrivateKey:
    if pem is None:
        return Ed25519PrivateKey.generate()
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("private_key_pem must hold an Ed25519 private key")
    return key

