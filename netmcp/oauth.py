"""The management server's OAuth face: token, registration, consent and key endpoints.

Routes over an :class:`~netmcp.auth.Authority` (RFC 6749 token endpoint, RFC 7591
dynamic registration, RFC 7636 PKCE, RFC 8414 metadata, a JWK set), the
bearer-token checks of RFC 6750, and the conventions every management endpoint
shares: errors are ``{"error": code, "error_description": text}`` raised as
:class:`Problem`, bodies are size-capped and read by :func:`read_json` /
:func:`read_form`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import anyio
import anyio.to_thread
from mcp.server.auth.provider import AccessToken
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netmcp.auth import (
    NETWORK_READ,
    SCOPES,
    Authority,
    ConsentRequest,
    GrantRefused,
    TokenRejected,
    TokenVerifier,
)
from netmcp.ratelimit import FailureLimiter

MAX_BODY_BYTES = 64 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class Problem(Exception):
    """An HTTP error answer: status, an OAuth-style error code and a sentence naming the field."""

    def __init__(self, status: int, error: str, description: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.error, self.description, self.headers = status, error, description, headers

    def response(self) -> JSONResponse:
        """The problem as a JSON response."""
        return JSONResponse({"error": self.error, "error_description": self.description},
                            status_code=self.status, headers=self.headers)


async def read_json(request: Request) -> Any:
    """The request's JSON body; a 400 :class:`Problem` when it is not JSON."""
    try:
        return json.loads(await _body(request))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Problem(400, "invalid_request", f"body: not valid JSON ({e})") from None


async def read_form(request: Request) -> dict[str, str]:
    """The request's form-encoded body; a 400 :class:`Problem` for other bodies or repeated fields."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise Problem(400, "invalid_request", "body: must be application/x-www-form-urlencoded")
    try:
        fields = parse_qs((await _body(request)).decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise Problem(400, "invalid_request", "body: not UTF-8") from None
    repeated = sorted(k for k, v in fields.items() if len(v) > 1)
    if repeated:
        raise Problem(400, "invalid_request", f"{repeated[0]}: given more than once")
    return {k: v[0] for k, v in fields.items()}


def require_scope(request: Request, verifier: TokenVerifier, scope: str) -> AccessToken:
    """The request's bearer token, checked and holding ``scope``; a 401/403 :class:`Problem` if not."""
    token = _bearer(request)
    if token is None:
        raise Problem(401, "invalid_request", "a bearer token is required",
                      {"WWW-Authenticate": 'Bearer realm="netmcp"'})
    try:
        access = verifier.check(token)
    except TokenRejected as e:
        raise Problem(401, "invalid_token", f"token {e.reason}: {e.detail}",
                      {"WWW-Authenticate": f'Bearer realm="netmcp", error="invalid_token", '
                                           f'error_description="token {e.reason}"'}) from None
    if scope not in access.scopes:
        raise Problem(403, "insufficient_scope", f"the token lacks scope {scope}",
                      {"WWW-Authenticate": f'Bearer realm="netmcp", error="insufficient_scope", '
                                           f'scope="{scope}"'})
    return access


def oauth_routes(authority: Authority, *, admin_secret: str,
                 limiter: FailureLimiter | None = None) -> list[Route]:
    """The OAuth, consent and key routes over ``authority``; consents need ``admin_secret``.

    Token requests run in a worker thread, one at a time: checking a secret costs a scrypt hash,
    which must not hold up the event loop (``/healthz``, discovery, load reports). A caller address
    that failed ``limiter``'s number of times is answered 429 ``slow_down`` without a check.
    """
    endpoints = _OAuthEndpoints(authority, admin_secret, limiter or FailureLimiter())
    return [
        Route("/oauth/token", endpoints.token, methods=["POST"]),
        Route("/oauth/register", endpoints.register, methods=["POST"]),
        Route("/oauth/authorize", endpoints.authorize, methods=["GET"]),
        Route("/consents", endpoints.consents, methods=["GET"]),
        Route("/consents/{consent_id}/approve", endpoints.approve, methods=["POST"]),
        Route("/consents/{consent_id}/deny", endpoints.deny, methods=["POST"]),
        Route("/.well-known/jwks.json", endpoints.jwks, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", endpoints.metadata, methods=["GET"]),
    ]


class _OAuthEndpoints:
    def __init__(self, authority: Authority, admin_secret: str, limiter: FailureLimiter) -> None:
        if len(admin_secret) < 16:
            raise ValueError("admin_secret must be at least 16 characters")
        self.authority, self._admin, self.limiter = authority, admin_secret.encode(), limiter
        self._hashing = anyio.CapacityLimiter(1)  # one grant at a time: the Authority is not thread-safe

    async def token(self, request: Request) -> Response:
        caller = request.client.host if request.client is not None else "unknown"
        wait = self.limiter.retry_after(caller)
        if wait is not None:
            raise Problem(429, "slow_down", f"too many failed token requests from {caller}; retry in "
                          f"{wait} s", {"Retry-After": str(wait)})
        form = await read_form(request)
        client_id, secret = _client_credentials(request, form)
        grant_type = _required(form, "grant_type")
        if grant_type == "client_credentials":
            scopes = form["scope"].split() if "scope" in form else None
            issue = functools.partial(self.authority.issue, client_id, secret, scopes)
        elif grant_type == "authorization_code":
            issue = functools.partial(self.authority.exchange_code, client_id, secret,
                                      _required(form, "code"), _required(form, "code_verifier"),
                                      _required(form, "redirect_uri"))
        else:
            raise Problem(400, "unsupported_grant_type", f"grant_type: {grant_type!r} is not supported")
        try:
            grant = await anyio.to_thread.run_sync(issue, limiter=self._hashing)
        except GrantRefused as exc:
            if exc.error in ("invalid_client", "invalid_grant"):
                self.limiter.failed(caller)
            raise
        return JSONResponse(asdict(grant), headers=_NO_STORE)

    async def register(self, request: Request) -> Response:
        meta = await read_json(request)
        if not isinstance(meta, dict):
            raise Problem(400, "invalid_client_metadata", "body: must be a JSON object")
        name, redirect_uri, scopes = _agent_metadata(meta)
        client_id, secret = self.authority.register_agent(name, redirect_uri, scopes)
        return JSONResponse({
            "client_id": client_id, "client_secret": secret, "client_secret_expires_at": 0,
            "client_id_issued_at": int(self.authority.clock()), "client_name": name,
            "redirect_uris": [redirect_uri], "scope": " ".join(scopes),
            "grant_types": ["authorization_code"], "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post"}, status_code=201, headers=_NO_STORE)

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("response_type") != "code":
            raise Problem(400, "unsupported_response_type", "response_type: must be code")
        scope = q.get("scope")
        request_ = self.authority.authorize(
            _required(q, "client_id"), _required(q, "redirect_uri"), scope.split() if scope else None,
            q.get("state", ""), _required(q, "code_challenge"), q.get("code_challenge_method", "plain"))
        return JSONResponse({"status": "pending"} | self._consent_json(request_), status_code=202)

    async def consents(self, request: Request) -> Response:
        self._require_admin(request)
        return JSONResponse({"consents": [self._consent_json(c) for c in self.authority.pending()]})

    async def approve(self, request: Request) -> Response:
        return self._answer(request, self.authority.approve, "approved")

    async def deny(self, request: Request) -> Response:
        return self._answer(request, self.authority.deny, "denied")

    def _answer(self, request: Request, answer: Callable[[str], str], status: str) -> Response:
        """A human's answer to a consent request; the redirect URL tells the agent."""
        self._require_admin(request)
        consent_id = request.path_params["consent_id"]
        return JSONResponse({"consent_id": consent_id, "status": status, "redirect_to": answer(consent_id)})

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(self.authority.jwks(), headers={"Cache-Control": "max-age=300"})

    async def metadata(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse({
            "issuer": self.authority.issuer, "token_endpoint": f"{base}/oauth/token",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "registration_endpoint": f"{base}/oauth/register", "jwks_uri": f"{base}/.well-known/jwks.json",
            "scopes_supported": sorted(SCOPES), "response_types_supported": ["code"],
            "grant_types_supported": ["client_credentials", "authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"]})

    def _require_admin(self, request: Request) -> None:
        given = _bearer(request)
        if given is None or not hmac.compare_digest(given.encode(), self._admin):
            raise Problem(401, "invalid_token", "consents are answered with the admin secret as bearer",
                          {"WWW-Authenticate": 'Bearer realm="netmcp-admin"'})

    def _consent_json(self, c: ConsentRequest) -> dict[str, Any]:
        return {"consent_id": c.consent_id, "client_id": c.client_id, "agent_name": c.agent_name,
                "scopes": list(c.scopes), "redirect_uri": c.redirect_uri, "text": c.text,
                "expires_in": max(0, int(c.expires_at - self.authority.clock()))}


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        raise Problem(413, "invalid_request", f"body: larger than {MAX_BODY_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise Problem(413, "invalid_request", f"body: larger than {MAX_BODY_BYTES} bytes")
    return body


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _required(fields: Any, name: str) -> str:
    value = fields.get(name)
    if not value:
        raise Problem(400, "invalid_request", f"{name}: required")
    return str(value)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """RFC 6749 §2.3.1: HTTP Basic or client_id and client_secret in the form, not both."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return _required(form, "client_id"), _required(form, "client_secret")
    if "client_secret" in form:
        raise Problem(400, "invalid_request", "client_secret: use either HTTP Basic or the form, not both")
    try:
        client_id, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        sep, client_id, secret = "", "", ""
    if not sep:
        raise Problem(401, "invalid_client", "Authorization: malformed HTTP Basic credentials",
                      {"WWW-Authenticate": 'Basic realm="netmcp"'})
    return unquote_plus(client_id), unquote_plus(secret)


def _agent_metadata(meta: dict[str, Any]) -> tuple[str, str, list[str]]:
    """Name, redirect URI and scopes from RFC 7591 client metadata."""
    name = meta.get("client_name")
    if not isinstance(name, str) or not name.strip():
        raise Problem(400, "invalid_client_metadata", "client_name: required, a non-empty string")
    uris = meta.get("redirect_uris")
    if not isinstance(uris, list) or len(uris) != 1 or not isinstance(uris[0], str):
        raise Problem(400, "invalid_redirect_uri", "redirect_uris: exactly one URI (a string) is supported")
    scope = meta.get("scope", NETWORK_READ)
    if not isinstance(scope, str):
        raise Problem(400, "invalid_client_metadata", "scope: must be a space-separated string")
    grants = meta.get("grant_types", ["authorization_code"])
    if grants != ["authorization_code"]:
        raise Problem(400, "invalid_client_metadata",
                      "grant_types: registered agents may only use authorization_code")
    return name, uris[0], scope.split()
