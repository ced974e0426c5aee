"""Signed access tokens: Ed25519 JWTs, their public keys as JWKs, and the verifier tool servers run.

The management server's :class:`~netmcp.auth.Authority` signs; any tool server
checks with :class:`TokenVerifier`, built from the authority's public key or
from its JWK set (``GET /.well-known/jwks.json``). Time comes from an injected
clock, so expiry is tested without sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm
from mcp.server.auth.provider import AccessToken

AUDIENCE = "netmcp"
ALGORITHM = "EdDSA"
_VERIFIED_CAPACITY = 4096
REQUIRED_CLAIMS = ("iss", "sub", "aud", "scope", "iat", "exp", "jti")

Reason = Literal["malformed", "bad_signature", "wrong_issuer", "wrong_audience", "expired",
                 "not_yet_valid", "unavailable"]

log = logging.getLogger("netloop.netmcp.auth")


class TokenRejected(Exception):
    """A bearer token that does not grant access, and why.

    Parameters
    ----------
    reason
        One of ``malformed``, ``bad_signature``, ``wrong_issuer``, ``wrong_audience``,
        ``expired``, ``not_yet_valid``, ``unavailable`` (the keys to check it with are not
        known yet): stable, for metrics labels and for clients.
    detail
        A sentence for the human reading the refusal.
    """

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: Reason = reason
        self.detail = detail


def key_id(public_key: Ed25519PublicKey) -> str:
    """The RFC 7638 thumbprint of ``public_key``: the ``kid`` of the tokens it verifies."""
    jwk = public_jwk_fields(public_key)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"),
                           sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_jwk_fields(public_key: Ed25519PublicKey) -> dict[str, str]:
    """``kty``, ``crv`` and ``x`` of ``public_key`` as a JWK (RFC 8037)."""
    fields = OKPAlgorithm.to_jwk(public_key, as_dict=True)
    return {k: str(v) for k, v in fields.items()}


def jwk_set(public_key: Ed25519PublicKey) -> dict[str, list[dict[str, str]]]:
    """A JWK set holding ``public_key``, as served at ``/.well-known/jwks.json``."""
    jwk = public_jwk_fields(public_key) | {"kid": key_id(public_key), "alg": ALGORITHM, "use": "sig"}
    return {"keys": [jwk]}


class TokenVerifier:
    """Checks NetMCP access tokens; implements the SDK's ``TokenVerifier`` protocol.

    Parameters
    ----------
    key
        The authority's public key, or its JWK set (a ``{"keys": [...]}`` dict).
    issuer
        The ``iss`` a token must carry.
    audience
        The ``aud`` a token must carry.
    clock
        Seconds since the epoch; ``time.time`` unless a test steps time itself.
    leeway_s
        Tolerated clock skew between the authority and this server: a token is
        accepted up to this long after ``exp``, and from this long before ``iat``.
    """

    def __init__(self, key: Ed25519PublicKey | Mapping[str, Any], *, issuer: str,
                 audience: str = AUDIENCE, clock: Callable[[], float] = time.time,
                 leeway_s: float = 30.0) -> None:
        self._keys = _keys_by_id(key)
        self.issuer, self.audience, self.clock, self.leeway_s = issuer, audience, clock, leeway_s
        # Tokens whose signature verified, until they expire: an agent sends the same token with
        # every call, and the signature check is most of a call's verification cost.
        self._verified: OrderedDict[str, AccessToken] = OrderedDict()

    async def verify_token(self, token: str) -> AccessToken | None:
        """The access ``token`` grants, or None when it is refused (the SDK's protocol)."""
        try:
            return self.check(token)
        except TokenRejected:
            return None

    def check(self, token: str) -> AccessToken:
        """The access ``token`` grants.

        Raises
        ------
        TokenRejected
            With the reason: malformed, bad signature, wrong issuer or audience,
            expired, or not yet valid. Every refusal is logged with the token's
            subject (never the token).
        """
        known = self._verified.get(token)
        if known is not None:
            try:
                self._check_time(known.claims or {})
            except TokenRejected as refused:
                del self._verified[token]
                log.warning("token refused: client=%s reason=%s detail=%s", known.client_id,
                            refused.reason, refused.detail)
                raise
            self._verified.move_to_end(token)
            return known
        try:
            claims = self._decode(token)
        except TokenRejected as refused:
            log.warning("token refused: client=%s reason=%s detail=%s", _unverified_subject(token),
                        refused.reason, refused.detail)
            raise
        access = AccessToken(token=token, client_id=claims["sub"], subject=claims["sub"],
                             scopes=str(claims["scope"]).split(), expires_at=int(claims["exp"]),
                             claims=claims)
        self._verified[token] = access
        while len(self._verified) > _VERIFIED_CAPACITY:
            self._verified.popitem(last=False)
        return access

    def _decode(self, token: str) -> dict[str, Any]:
        key = self._key_for(token)
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=self.audience,
                                issuer=self.issuer, options={
                                    "verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                    "require": list(REQUIRED_CLAIMS)})
        except jwt.InvalidSignatureError as e:
            raise TokenRejected("bad_signature", "the signature does not verify") from e
        except jwt.InvalidIssuerError as e:
            raise TokenRejected("wrong_issuer", f"the token is not issued by {self.issuer!r}") from e
        except jwt.InvalidAudienceError as e:
            raise TokenRejected("wrong_audience", f"the token is not meant for {self.audience!r}") from e
        except jwt.InvalidTokenError as e:
            raise TokenRejected("malformed", str(e)) from e
        self._check_time(claims)
        return claims

    def _key_for(self, token: str) -> Ed25519PublicKey:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as e:
            raise TokenRejected("malformed", str(e)) from e
        if header.get("alg") != ALGORITHM:
            raise TokenRejected("bad_signature", f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
        kid = header.get("kid")
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise TokenRejected("bad_signature", f"signed by an unknown key (kid {kid!r})")

    def _check_time(self, claims: Mapping[str, Any]) -> None:
        now = self.clock()
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
        except (TypeError, ValueError) as e:
            raise TokenRejected("malformed", "exp and iat must be numbers") from e
        if now > exp + self.leeway_s:
            raise TokenRejected("expired", f"the token expired {now - exp:.0f} s ago")
        if iat > now + self.leeway_s:
            raise TokenRejected("not_yet_valid", "the token is issued in the future")


class PendingVerifier:
    """A :class:`TokenVerifier` still to come: every token is refused until :meth:`load` gives it one.

    It is a :class:`netmcp.gate.TokenCheck` (what a tool server's gate asks).

    A tool server that starts while its management server is down serves its public
    tools at once and takes no token until it has fetched the management server's keys.
    """

    def __init__(self) -> None:
        self.current: TokenVerifier | None = None

    def load(self, verifier: TokenVerifier) -> None:
        """Check tokens with ``verifier`` from now on (again, when the keys change)."""
        self.current = verifier

    def check(self, token: str) -> AccessToken:
        """The access ``token`` grants; :class:`TokenRejected` (``unavailable``) before any keys."""
        if self.current is None:
            raise TokenRejected("unavailable", "the keys of the token issuer are not known yet")
        return self.current.check(token)


def _keys_by_id(key: Ed25519PublicKey | Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    if isinstance(key, Ed25519PublicKey):
        return {key_id(key): key}
    found: dict[str, Ed25519PublicKey] = {}
    for entry in key.get("keys", []):
        public = jwt.PyJWK(dict(entry), algorithm=ALGORITHM).key
        if isinstance(public, Ed25519PublicKey):
            found[entry.get("kid") or key_id(public)] = public
    if not found:
        raise ValueError("keys: the JWK set holds no Ed25519 public key")
    return found


def _unverified_subject(token: str) -> str:
    try:
        return str(jwt.decode(token, options={"verify_signature": False}).get("sub", "?"))
    except jwt.InvalidTokenError:
        return "?"
