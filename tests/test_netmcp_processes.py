"""`netloop netmcp serve` as a real process: the official SDK client and the NetMCP client over
streamable HTTP and stdio, a plain MCP server process to fall back against, and a managed
tool server whose tokens come from a management server process."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from netmcp import ACTUATOR, NetMcpClient
from netmcp.management_client import ManagementClient
from netmcp.spec import UNAUTHORIZED

CLI = "from streams.cli import main; main()"
PLAIN = Path(__file__).with_name("plain_mcp_server.py")
SECRET = "actuator-secret-0123456789"
TOOL_SECRET = "tool-server-secret-0123456789"
ADMIN = "admin-secret-0123456789"


def management_config(path: Path, tool_server: str) -> Path:
    """A management server's YAML: the admin secret, the actuator, and ``tool_server`` registering."""
    path.write_text(f"admin_secret: {ADMIN}\nclients:\n"
                    f"  - {{client_id: {ACTUATOR}, secret: {SECRET}, scopes: [network:act]}}\n"
                    f"  - {{client_id: {tool_server}, secret: {TOOL_SECRET}, scopes: [netmcp:register]}}\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for_port(port: int, proc: subprocess.Popen, timeout_s: float = 30) -> None:
    """Wait until ``port`` accepts connections; fail at once if the process died."""
    async with asyncio.timeout(timeout_s):
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)  # polling a port that is not open yet
                continue
            writer.close()
            return


@contextmanager
def process(*args: str) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@contextmanager
def tool_server(*extra: str) -> Iterator[str]:
    port = free_port()
    with process("-c", CLI, "netmcp", "serve", "--transport", "http", "--port", str(port),
                 "--scenario", "smoke", "--speed", "20", *extra) as proc:
        asyncio.run(wait_for_port(port, proc))
        yield f"http://127.0.0.1:{port}/mcp"


def stdio_server(*extra: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=[
        "-c", CLI, "netmcp", "serve", "--transport", "stdio", "--scenario", "smoke", "--speed", "20", *extra])


async def list_and_call(client: Client) -> tuple[set[str], dict[str, Any]]:
    names = {t.name for t in (await client.list_tools()).tools}
    result = await client.call_tool("get_cell_status", {"cell_id": "cell-0001-1"})
    assert not result.is_error, result.content
    return names, result.structured_content


def test_the_official_sdk_client_lists_and_calls_the_tools_over_streamable_http() -> None:
    async def main(url: str) -> tuple[set[str], dict[str, Any]]:
        async with Client(url) as client:
            return await list_and_call(client)

    with tool_server() as url:
        names, status = asyncio.run(main(url))
    assert {"restart_cell", "reroute_link", "get_cell_status"} <= names
    assert status["entity_id"] == "cell-0001-1" and "throughput_mbps" in status["kpis"]


def test_the_official_sdk_client_lists_and_calls_the_tools_over_stdio() -> None:
    async def main() -> tuple[set[str], dict[str, Any]]:
        async with Client(stdio_server("--tools", "ran")) as client:
            return await list_and_call(client)

    names, status = asyncio.run(main())
    assert "restart_cell" in names and "restart_amf" not in names
    assert status["kind"] == "cell"


def test_a_netmcp_client_negotiates_the_extension_over_http_and_stdio() -> None:
    async def main(server: Any) -> tuple[bool, str, list[str]]:
        async with NetMcpClient(server) as c:
            hits = [t.name for t in await c.search("the backhaul link went down", k=1)]
            return c.netmcp, c.settings["version"], hits

    with tool_server("--tools", "core") as url:
        over_http = asyncio.run(main(url))
    over_stdio = asyncio.run(main(stdio_server("--tools", "core")))
    assert over_http == over_stdio == (True, "1.0", ["failover_link"])


def test_a_netmcp_client_falls_back_against_a_plain_mcp_server_process() -> None:
    async def main() -> tuple[bool, str]:
        params = StdioServerParameters(command=sys.executable, args=[str(PLAIN)])
        async with NetMcpClient(params) as c:
            result = await c.call("echo", {"text": "hi"})
            return c.netmcp, result.content[0].text

    assert asyncio.run(main()) == (False, "hi")


def test_a_managed_tool_server_takes_tokens_from_the_management_server_and_is_discoverable(
        tmp_path: Path) -> None:
    config = management_config(tmp_path / "management.yaml", "ran-1")
    mport = free_port()
    management = f"http://127.0.0.1:{mport}"

    async def main(url: str) -> tuple[int, Any, list[str]]:
        async with NetMcpClient(url) as anonymous:
            with pytest.raises(MCPError) as refused:
                await anonymous.call("restart_cell", {"cell_id": "cell-0001-1"})
        async with ManagementClient(management) as m:
            found = await m.discover(task="a cell is down", k=1)

            async def token() -> str:
                return (await m.token(ACTUATOR, SECRET)).access_token

            async with NetMcpClient(found[0].servers[0].url, token=token) as actuator:
                result = await actuator.call("restart_cell", {"cell_id": "cell-0001-1"})
        return refused.value.error.code, result.structured_content, [d.tool.name for d in found]

    with process("-c", CLI, "netmcp", "serve", "--role", "management", "--port", str(mport),
                 "--config", str(config)) as mproc:
        asyncio.run(wait_for_port(mport, mproc))
        with tool_server("--tools", "ran", "--server-id", "ran-1", "--management", management,
                         "--client-id", "ran-1", "--client-secret", TOOL_SECRET) as url:
            code, outcome, tools = asyncio.run(main(url))
    assert code == UNAUTHORIZED
    assert tools == ["restart_cell"]
    assert outcome["applied"] is True and outcome["target"] == "cell-0001-1"


def test_a_third_party_agent_gets_a_token_only_after_a_human_approves_it_with_the_cli(tmp_path: Path) -> None:
    import base64
    import hashlib
    from urllib.parse import parse_qs, urlparse

    import httpx
    from typer.testing import CliRunner

    from streams.cli import app

    config = tmp_path / "management.yaml"
    config.write_text(f"admin_secret: {ADMIN}\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://127.0.0.1:9/callback"
    cli = ["--management", base, "--admin-secret", ADMIN]

    with process("-c", CLI, "netmcp", "serve", "--role", "management", "--port", str(port),
                 "--config", str(config)) as proc:
        asyncio.run(wait_for_port(port, proc))
        with httpx.Client(base_url=base) as http:
            agent = http.post("/oauth/register", json={
                "client_name": "ops-copilot", "redirect_uris": [redirect], "scope": "network:read"}).json()
            asked = http.get("/oauth/authorize", params={
                "response_type": "code", "client_id": agent["client_id"], "redirect_uri": redirect,
                "scope": "network:read", "state": "s1", "code_challenge": challenge,
                "code_challenge_method": "S256"}).json()
            early = http.post("/oauth/token", data={
                "grant_type": "client_credentials", "client_id": agent["client_id"],
                "client_secret": agent["client_secret"]})
            listed = CliRunner().invoke(app, ["netmcp", "consent", "list", *cli])
            approved = CliRunner().invoke(app, ["netmcp", "consent", "approve", asked["consent_id"], *cli])
            code = parse_qs(urlparse(approved.output.split("sent to ")[1].strip()).query)["code"][0]
            grant = http.post("/oauth/token", data={
                "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                "redirect_uri": redirect, "client_id": agent["client_id"],
                "client_secret": agent["client_secret"]})
    assert early.status_code in (400, 401)
    assert listed.exit_code == 0 and "ops-copilot" in listed.output
    assert approved.exit_code == 0, approved.output
    assert grant.status_code == 200 and grant.json()["scope"] == "network:read"
