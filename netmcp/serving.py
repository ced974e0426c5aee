"""Starting an ASGI app under uvicorn and knowing when it accepts connections."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn


async def start_http(app: Any, host: str, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Serve ``app`` on ``host:port`` in a task; return once it accepts connections.

    A server that cannot start (the port is taken, say) raises why here. Stop it with
    ``server.should_exit = True`` and await the task.
    """
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # uvicorn has no event for "started"
        await asyncio.sleep(0.01)
    if not server.started:
        task.result()  # surfaces why it could not start
        raise OSError(f"the HTTP server on {host}:{port} stopped before it started")
    return server, task
