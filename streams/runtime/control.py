"""The control endpoint of a running loop: a human answers approval requests.

Secure by default: it listens on loopback only, on a free port, and every
request needs the bearer token the loop writes, with the URL, to
``<state dir>/control.json`` (mode 0600, removed when the loop stops).
``netloop approvals list|approve ID|deny ID`` reads that file.

    GET  /approvals                 the requests (pending first) as JSON
    POST /approvals/{id}/approve    approve a pending request
    POST /approvals/{id}/deny       deny a pending request
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from actuators import ApprovalBook
from netmcp.serving import start_http

CONTROL_FILE = "control.json"


async def serve_on_loopback(app: Any) -> tuple[str, uvicorn.Server, asyncio.Task[None]]:
    """Serve ``app`` on 127.0.0.1 at a free port; its base URL, the server and its task."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server, task = await start_http(app, "127.0.0.1", port)
    return f"http://127.0.0.1:{port}", server, task


def control_app(approvals: ApprovalBook, token: str) -> Starlette:
    """The endpoint's routes over ``approvals``, each behind the bearer ``token``."""

    def authorised(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return secrets.compare_digest(given.encode(), f"Bearer {token}".encode())

    async def listing(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        return JSONResponse([a.summary() for a in approvals.all()])

    async def answer(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        aid, verb = request.path_params["approval_id"], request.path_params["verb"]
        if approvals.get(aid) is None:
            return JSONResponse({"error": f"no approval request {aid}"}, status_code=404)
        how = approvals.approve if verb == "approve" else approvals.deny
        done = how(aid, by="a human (netloop approvals)")
        if done is None:
            return JSONResponse({"error": f"{aid} is already {approvals.get(aid).status}"},  # type: ignore[union-attr]
                                status_code=409)
        return JSONResponse(done.summary())

    return Starlette(routes=[
        Route("/approvals", listing, methods=["GET"]),
        Route("/approvals/{approval_id}/{verb:str}", answer, methods=["POST"]),
    ])


class ControlServer:
    """Serves :func:`control_app` while the loop runs; ``async with ControlServer(book, state_dir=...)``."""

    def __init__(self, approvals: ApprovalBook, *, state_dir: Path) -> None:
        self.approvals, self.file = approvals, state_dir / CONTROL_FILE
        self.token = secrets.token_urlsafe(32)
        self.url = ""
        self._served: tuple[uvicorn.Server, asyncio.Task[None]] | None = None

    async def __aenter__(self) -> ControlServer:
        self.url, server, task = await serve_on_loopback(control_app(self.approvals, self.token))
        self._served = (server, task)
        self.file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"url": self.url, "token": self.token, "pid": os.getpid()}, out)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.file.unlink(missing_ok=True)
        if self._served is not None:
            server, task = self._served
            server.should_exit = True
            await task
