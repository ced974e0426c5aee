"""``netloop bench --netmcp``: tool calls per second and latency over loopback HTTP, with and without
the NetMCP interceptors, measured in the same run.

Both servers carry the same tools over the same simulated network; the
NetMCP one also checks an EdDSA token, fills derived parameters, verifies the
constraints, keeps the idempotency ledger and writes the audit. The client
calls ``set_antenna_tilt`` (a remediation with ranges, a rule and a derived
parameter) with a fresh action id each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import uvicorn

from netmcp import ACTUATOR, AuditLog, NetMcpClient, build_server
from netmcp.auth import NETWORK_ACT, Authority
from simulator import Network, load_scenario

_SECRET = "bench-secret-0123456789"


@dataclass(frozen=True)
class CallStats:
    """Sequential latency percentiles and concurrent throughput of one server variant."""

    p50_ms: float
    p99_ms: float
    calls_per_s: float


def netmcp_call_rates(calls: int = 400, concurrency: int = 8, rounds: int = 3) -> dict[str, CallStats]:
    """Stats for a plain MCP server and a NetMCP server: the median of alternating rounds."""
    authority = Authority()
    authority.add_client(ACTUATOR, _SECRET, [NETWORK_ACT])
    out: dict[str, list[CallStats]] = {"plain MCP": [], "NetMCP": []}
    for _ in range(rounds):  # alternate, so drift of a shared machine hits both
        for name in out:
            netmcp = name == "NetMCP"
            with _served(netmcp, authority) as url:
                stats = asyncio.run(_measure(url, authority if netmcp else None, calls, concurrency))
                out[name].append(stats)
    return {name: _median(runs) for name, runs in out.items()}


def _median(runs: list[CallStats]) -> CallStats:
    return CallStats(float(np.median([r.p50_ms for r in runs])), float(np.median([r.p99_ms for r in runs])),
                     float(np.median([r.calls_per_s for r in runs])))


async def _measure(url: str, authority: Authority | None, calls: int, concurrency: int) -> CallStats:
    token = None
    if authority is not None:
        grant = authority.issue(ACTUATOR, _SECRET)

        async def token() -> str:
            return grant.access_token

    async with NetMcpClient(url, token=token, name="bench") as client:
        n = 0

        async def one() -> None:
            nonlocal n
            n += 1
            result = await client.call("set_antenna_tilt", {"cell_id": "cell-0001-1", "tilt_deg": 6},
                                       action_id=f"bench-{n}")
            assert not result.is_error, result.content

        for _ in range(20):  # warm up: sessions, caches, the tool listing
            await one()
        latencies = []
        for _ in range(calls):
            start = time.perf_counter()
            await one()
            latencies.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(calls // concurrency):
            await asyncio.gather(*(one() for _ in range(concurrency)))
        rate = (calls // concurrency) * concurrency / (time.perf_counter() - start)
    ms = np.array(latencies) * 1e3
    return CallStats(float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), rate)


@contextlib.contextmanager
def _served(netmcp: bool, authority: Authority) -> Iterator[str]:
    """A tool server on a loopback port, in its own thread and event loop."""
    network = Network.from_scenario(load_scenario("smoke"))
    network.step()
    server = build_server(network, netmcp=netmcp, verifier=authority.verifier() if netmcp else None,
                          audit=AuditLog(capacity=1000))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(server.streamable_http_app(), host="127.0.0.1", port=port,
                                       log_level="error"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    while not uv.started and thread.is_alive():
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
