"""Who may call a tool, and whether its parameters may reach the network.

:class:`Gate` is the pure part of the NetMCP interceptor: given a tool's
:class:`~netmcp.spec.ToolSpec`, the caller's bearer token and the arguments,
it returns the caller or raises an :class:`~mcp.shared.exceptions.MCPError`
whose code and message say what was refused and why.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mcp.server.auth.provider import AccessToken
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from netmcp.auth import NETMCP_CONFIRM
from netmcp.constraints import CallCheck, Verdict, verify
from netmcp.spec import FORBIDDEN, META_TOKEN, NEEDS_CONFIRMATION, UNAUTHORIZED, Permission, ToolSpec
from netmcp.tokens import TokenRejected

log = logging.getLogger("netloop.netmcp")


class TokenCheck(Protocol):
    """Checks a bearer token: :class:`netmcp.tokens.TokenVerifier` is one."""

    def check(self, token: str) -> AccessToken: ...


@dataclass(frozen=True)
class Caller:
    """Who is calling: a client id and the scopes of its token (none when anonymous)."""

    client_id: str
    scopes: frozenset[str] = frozenset()


ANONYMOUS = Caller("anonymous")


class Refused(MCPError):
    """A call NetMCP refused; ``outcome`` is the audit word for it."""

    def __init__(self, code: int, message: str, outcome: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(code=code, message=message, data=data)
        self.outcome = outcome


class Gate:
    """Authorisation by permission level, then parameter verification.

    Parameters
    ----------
    verifier
        Checks tokens. ``None`` runs the server open: every permission level
        is granted (for a laptop or a test, never a shared network).
    checks
        Model-based verification hooks, asked after the constraints.
    """

    def __init__(self, *, verifier: TokenCheck | None = None, checks: Sequence[CallCheck] = ()) -> None:
        self.verifier = verifier
        self.checks = tuple(checks)
        if verifier is None:
            log.warning("NetMCP tool server runs without token verification: every tool is open")

    def identify(self, bearer: str | None) -> Caller | TokenRejected:
        """The caller a bearer token names, anonymous without one, or why the token is refused."""
        if bearer is None or self.verifier is None:
            return ANONYMOUS
        try:
            token = self.verifier.check(bearer)
        except TokenRejected as exc:
            return exc
        return Caller(token.client_id, frozenset(token.scopes))

    def authorize(self, spec: ToolSpec, who: Caller | TokenRejected) -> Caller:
        """The caller when the permission level lets it call ``spec``; else raise :class:`Refused`."""
        if spec.permission is Permission.PUBLIC or self.verifier is None:
            return who if isinstance(who, Caller) else ANONYMOUS
        if isinstance(who, TokenRejected):
            raise Refused(UNAUTHORIZED, f"{spec.name}: token refused ({who.reason}): {who.detail}",
                          "unauthorized", {"reason": who.reason})
        if who is ANONYMOUS:
            raise Refused(UNAUTHORIZED, f"{spec.name} needs a bearer token with scope {spec.scope}",
                          "unauthorized", {"reason": "missing"})
        if spec.scope is not None and spec.scope not in who.scopes:
            raise Refused(FORBIDDEN, f"{spec.name} needs scope {spec.scope}; the token of {who.client_id} "
                          f"has {' '.join(sorted(who.scopes)) or 'none'}", "forbidden",
                          {"reason": "scope", "scope": spec.scope})
        if spec.permission is Permission.AGENTS and who.client_id not in spec.agents:
            raise Refused(FORBIDDEN, f"{spec.name} may only be called by {', '.join(sorted(spec.agents))}; "
                          f"not by {who.client_id}", "forbidden", {"reason": "agent"})
        return who

    def require(self, scope: str, who: Caller | TokenRejected, what: str) -> Caller:
        """The caller when its token has ``scope`` (or the server runs open); else raise :class:`Refused`."""
        if self.verifier is None:
            return who if isinstance(who, Caller) else ANONYMOUS
        if isinstance(who, TokenRejected) or who is ANONYMOUS:
            reason = who.reason if isinstance(who, TokenRejected) else "missing"
            raise Refused(UNAUTHORIZED, f"{what} needs a valid bearer token ({reason})", "unauthorized",
                          {"reason": reason})
        if scope not in who.scopes:
            raise Refused(FORBIDDEN, f"{what} needs scope {scope}", "forbidden", {"reason": "scope"})
        return who

    def check_known(self, spec: ToolSpec, args: Mapping[str, Any], known: set[str]) -> None:
        """Raise :class:`Refused` for a parameter the tool does not have (it would be dropped silently)."""
        unknown = sorted(set(args) - known)
        if unknown:
            raise Refused(INVALID_PARAMS, f"{spec.name}: unknown parameter {unknown[0]!r} (the tool takes "
                          f"{', '.join(sorted(known)) or 'none'})", "refused",
                          {"param": unknown[0], "rule": "known parameters"})

    def verify(self, spec: ToolSpec, args: Mapping[str, Any], who: Caller, confirmed: bool) -> Verdict:
        """The verdict on ``args``; raise :class:`Refused` for a refusal or an unconfirmed *confirm*."""
        verdict = verify(spec.constraints, args, self.checks, spec.name)
        if verdict.outcome == "refuse":
            raise Refused(INVALID_PARAMS, f"{spec.name}: {verdict.reason}", "refused",
                          {"param": verdict.param, "rule": verdict.rule})
        if verdict.outcome == "confirm" and not (confirmed and self._may_confirm(who)):
            raise Refused(NEEDS_CONFIRMATION, f"{spec.name}: {verdict.reason}", "confirm",
                          {"param": verdict.param, "rule": verdict.rule,
                           "confirm_with": "_meta io.netloop/confirmed = true, token scope netmcp:confirm"})
        return verdict

    def _may_confirm(self, who: Caller) -> bool:
        return self.verifier is None or NETMCP_CONFIRM in who.scopes


def bearer_of(ctx: Any, meta: Mapping[str, Any]) -> str | None:
    """The bearer token of a request: its HTTP ``Authorization`` header, else ``_meta`` (stdio, in-memory)."""
    headers = getattr(getattr(ctx, "request", None), "headers", None)
    value = headers.get("authorization") if headers is not None else None
    if value is None:
        value = meta.get(META_TOKEN)
    if not isinstance(value, str):
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
