"""An async client of the NetMCP management server (:mod:`netmcp.management`).

Tool servers use it to get a token, register and report their load; agents
and the act stage use it to get tokens and discover tools. The httpx transport
is injectable: ``httpx.ASGITransport(app)`` talks to an in-process app (tests,
the embedded runtime) with the same code that talks HTTP to a remote one.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from netmcp.auth import TokenGrant
from netmcp.registry import Discovery, ServerRecord, ServerStatus


class ManagementError(Exception):
    """The management server refused a request; the message is its ``error_description``.

    Attributes
    ----------
    status
        The HTTP status.
    error
        The error code (``invalid_client``, ``invalid_request``, ``not_found``, ...).
    """

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


class ManagementClient:
    """Calls a management server at ``base_url``.

    Parameters
    ----------
    base_url
        E.g. ``http://management:8700``.
    transport
        An httpx transport; the network when None.
    timeout_s
        Per-request timeout.

    Use it as an async context manager, or call :meth:`aclose`.
    """

    def __init__(self, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout_s: float = 10.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout_s)

    async def __aenter__(self) -> ManagementClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def token(self, client_id: str, secret: str, scopes: list[str] | None = None) -> TokenGrant:
        """A token by the client-credentials grant; all the client's scopes when ``scopes`` is None."""
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        if scopes is not None:
            form["scope"] = " ".join(scopes)
        body = await self._call("POST", "/oauth/token", data=form)
        return TokenGrant(access_token=body["access_token"], expires_in=int(body["expires_in"]),
                          scope=body["scope"], token_type=body["token_type"])

    async def register(self, record: ServerRecord, token: str) -> float:
        """Register (or re-register) a tool server; the heartbeat timeout in seconds.

        Report load more often than that, or discovery stops offering the server.
        """
        body = await self._call("POST", "/servers", token=token, json=record.model_dump(mode="json"))
        return float(body["heartbeat_timeout_s"])

    async def update(self, server_id: str, token: str, /, **changes: Any) -> ServerRecord:
        """Change fields of a registered server's record; the new record."""
        body = await self._call("PUT", f"/servers/{server_id}", token=token, json=changes)
        return ServerRecord.model_validate(body)

    async def deregister(self, server_id: str, token: str) -> None:
        """Remove a registered server."""
        await self._call("DELETE", f"/servers/{server_id}", token=token)

    async def report_load(self, server_id: str, load: float, token: str) -> None:
        """Report the server's load in calls per second (also its heartbeat)."""
        await self._call("POST", f"/servers/{server_id}/load", token=token, json={"load": load})

    async def servers(self) -> list[ServerStatus]:
        """Every registered server with its load and liveness."""
        body = await self._call("GET", "/servers")
        return [ServerStatus.model_validate(s) for s in body["servers"]]

    async def discover(self, area: str | None = None, task: str | None = None, tool: str | None = None,
                       k: int = 5) -> list[Discovery]:
        """Tools for ``task`` in ``area``, each with its servers least utilised first."""
        params = {name: value for name, value in (("area", area), ("task", task), ("tool", tool))
                  if value is not None}
        body = await self._call("GET", "/discover", params=params | {"k": str(k)})
        return [Discovery.model_validate(d) for d in body["tools"]]

    async def jwks(self) -> dict[str, Any]:
        """The authority's public keys, for a :class:`~netmcp.tokens.TokenVerifier`."""
        return await self._call("GET", "/.well-known/jwks.json")

    async def consents(self, admin_secret: str) -> list[dict[str, Any]]:
        """The pending consent requests of third-party agents (a human answers them)."""
        return list((await self._call("GET", "/consents", token=admin_secret))["consents"])

    async def answer_consent(self, consent_id: str, approve: bool, admin_secret: str) -> str:
        """Approve or deny a consent request; the redirect URL that tells the agent."""
        verdict = "approve" if approve else "deny"
        body = await self._call("POST", f"/consents/{consent_id}/{verdict}", token=admin_secret)
        return str(body["redirect_to"])

    async def _call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else None
        response = await self._http.request(method, path, headers=headers, **kwargs)
        if response.is_success:
            return response.json() if response.content else None
        try:
            problem = response.json()
            error, description = str(problem["error"]), str(problem.get("error_description", ""))
        except (ValueError, KeyError, TypeError):
            error, description = "http_error", f"HTTP {response.status_code}: {response.text[:200]}"
        raise ManagementError(response.status_code, error, description)
