"""The NetMCP management server: tool-server registry, discovery and tokens over HTTP (JSON).

Tool servers register (``POST /servers``, a bearer token with ``netmcp:register``)
and report their load (``POST /servers/{id}/load``, also their heartbeat);
agents discover tools and servers (``GET /discover``) and get tokens
(``/oauth/...``, see :mod:`netmcp.oauth`). A server's record can only be changed
by the client that registered it. Mistakes in a request are answered 4xx with
``{"error": ..., "error_description": ...}`` naming the field, never a traceback.

:func:`build_management_app` only builds the ASGI app; :func:`serve_management`
runs it under uvicorn, for entry points.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netmcp.auth import NETMCP_REGISTER, Authority, GrantRefused, UnknownConsent
from netmcp.oauth import Problem, oauth_routes, read_json, require_scope
from netmcp.ratelimit import FailureLimiter
from netmcp.registry import InvalidRecord, Registry, UnknownServer, parse_record
from netmcp.serving import start_http

MAX_K = 50


def build_management_app(registry: Registry, authority: Authority, *, admin_secret: str,
                         max_failed_grants: int = 10, failed_grant_window_s: float = 60.0) -> Starlette:
    """The management server's ASGI app over ``registry`` and ``authority``.

    Parameters
    ----------
    registry
        The tool servers known; shared with whoever else reads it in-process.
    authority
        Issues tokens and verifies those presented to the registry endpoints.
    admin_secret
        The bearer secret of the humans who answer consent requests (≥ 16 characters).
    max_failed_grants, failed_grant_window_s
        A caller address with this many refused token requests (wrong secret or code) in a
        window is answered 429 until the window ends, without its secret being checked.
    """
    endpoints = _RegistryEndpoints(registry, authority)
    routes = [
        Route("/servers", endpoints.register, methods=["POST"]),
        Route("/servers", endpoints.listing, methods=["GET"]),
        Route("/servers/{server_id}", endpoints.update, methods=["PUT"]),
        Route("/servers/{server_id}", endpoints.deregister, methods=["DELETE"]),
        Route("/servers/{server_id}/load", endpoints.load, methods=["POST"]),
        Route("/discover", endpoints.discover, methods=["GET"]),
        Route("/healthz", _healthz, methods=["GET"]),
        *oauth_routes(authority, admin_secret=admin_secret, limiter=FailureLimiter(
            max_failures=max_failed_grants, window_s=failed_grant_window_s)),
    ]
    return Starlette(routes=routes, exception_handlers=dict.fromkeys(
        (Problem, GrantRefused, *_STATUS_OF), _as_problem))


async def serve_management(app: Starlette, host: str, port: int,
                           ready: asyncio.Event | None = None) -> None:
    """Serve ``app`` on ``host:port`` until cancelled; ``ready`` is set once it accepts connections.

    Cancelling asks uvicorn to finish the requests in flight and stop (``should_exit``)
    before the cancellation goes on.
    """
    server, serving = await start_http(app, host, port)
    try:
        if ready is not None:
            ready.set()
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        raise


class _RegistryEndpoints:
    def __init__(self, registry: Registry, authority: Authority) -> None:
        self.registry, self.verifier = registry, authority.verifier()
        # which client registered each server: only it may change or remove the record
        self._owners: dict[str, str] = {}

    async def register(self, request: Request) -> Response:
        client = require_scope(request, self.verifier, NETMCP_REGISTER).client_id
        record = parse_record(await read_json(request))
        self._check_owner(record.server_id, client)
        self.registry.register(record)
        self._owners[record.server_id] = client
        return JSONResponse({"server_id": record.server_id,
                             "heartbeat_timeout_s": self.registry.heartbeat_timeout_s}, status_code=201)

    async def update(self, request: Request) -> Response:
        server_id = self._owned(request)
        changes = await read_json(request)
        if not isinstance(changes, dict):
            raise Problem(400, "invalid_request", "body: must be a JSON object of the fields to change")
        record = self.registry.update(server_id, **changes)
        return JSONResponse(record.model_dump(mode="json"))

    async def deregister(self, request: Request) -> Response:
        server_id = self._owned(request)
        self.registry.deregister(server_id)
        self._owners.pop(server_id, None)
        return Response(status_code=204)

    async def load(self, request: Request) -> Response:
        server_id = self._owned(request)
        body = await read_json(request)
        if not isinstance(body, dict) or set(body) != {"load"}:
            raise Problem(400, "invalid_request", 'body: must be {"load": <calls per second>}')
        self.registry.report_load(server_id, body["load"])
        load = float(body["load"])
        return JSONResponse({"server_id": server_id, "load": load,
                             "utilisation": load / self.registry.get(server_id).max_load})

    async def listing(self, request: Request) -> Response:
        return JSONResponse({"servers": [s.model_dump(mode="json") for s in self.registry.servers()]})

    async def discover(self, request: Request) -> Response:
        q = request.query_params
        found = self.registry.discover(area=q.get("area") or None, task=q.get("task") or None,
                                       tool=q.get("tool") or None, k=_k(q.get("k")))
        return JSONResponse({"tools": [d.model_dump(mode="json") for d in found]})

    def _owned(self, request: Request) -> str:
        client = require_scope(request, self.verifier, NETMCP_REGISTER).client_id
        server_id = request.path_params["server_id"]
        self.registry.get(server_id)  # 404 before 403: an unknown id is not someone else's
        self._check_owner(server_id, client)
        return server_id

    def _check_owner(self, server_id: str, client: str) -> None:
        owner = self._owners.get(server_id)
        if owner is not None and owner != client:
            raise Problem(403, "access_denied", f"server {server_id!r} is registered by another client")


def _k(raw: str | None) -> int:
    if raw is None or raw == "":
        return 5
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_K:
        raise Problem(400, "invalid_request", f"k: must be an integer from 1 to {MAX_K}, got {raw!r}")
    return int(raw)


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


# domain errors and the HTTP answer they get
_STATUS_OF: dict[type[Exception], tuple[int, str]] = {
    InvalidRecord: (400, "invalid_request"),
    UnknownServer: (404, "not_found"),
    UnknownConsent: (404, "not_found"),
}


async def _as_problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Problem):
        return exc.response()
    if isinstance(exc, GrantRefused):
        if exc.error == "invalid_client":  # RFC 6749 §5.2: 401 and a challenge
            return Problem(401, exc.error, exc.description,
                           {"WWW-Authenticate": 'Basic realm="netmcp"'}).response()
        return Problem(400, exc.error, exc.description).response()
    status, error = _STATUS_OF[type(exc)]
    return Problem(status, error, str(exc)).response()
