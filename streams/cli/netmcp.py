"""``netloop netmcp``: serve tool or management servers, list and search tools, call one."""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from streams.cli.common import ScenarioOpt, err, fail, load_checked, netmcp_app

consent_app = typer.Typer(help="Consent requests of third-party agents.", no_args_is_help=True)
netmcp_app.add_typer(consent_app, name="consent")


class Role(StrEnum):
    tool = "tool"
    management = "management"


class Transport(StrEnum):
    http = "http"
    stdio = "stdio"


class ToolSet(StrEnum):
    all = "all"
    ran = "ran"
    core = "core"


UrlOpt = Annotated[str, typer.Option("--url", help="the tool server's MCP endpoint (streamable HTTP)")]
ManagementOpt = Annotated[str | None, typer.Option(
    "--management", envvar="NETLOOP_MANAGEMENT_URL", help="management server URL: get a token there")]
ClientIdOpt = Annotated[str | None, typer.Option(envvar="NETLOOP_CLIENT_ID",
                                                 help="client id at the management server")]
SecretOpt = Annotated[str | None, typer.Option(envvar="NETLOOP_CLIENT_SECRET", help="its secret")]


@netmcp_app.command("serve")
def serve(
    role: Annotated[Role, typer.Option(help="a tool server, or the management server")] = Role.tool,
    transport: Annotated[Transport, typer.Option(help="streamable HTTP or stdio")] = Transport.http,
    port: Annotated[int, typer.Option(help="TCP port (HTTP)")] = 8765,
    host: Annotated[str, typer.Option(help="address to listen on (HTTP)")] = "127.0.0.1",
    tools: Annotated[ToolSet, typer.Option(help="tool server: which tools (ran, core+transport, all)")]
    = ToolSet.all,
    server_id: Annotated[str | None, typer.Option(help="tool server: its id in discovery")] = None,
    scenario: ScenarioOpt = "demo",
    speed: Annotated[float, typer.Option(min=0.1, help="tool server: network ticks per second")] = 1.0,
    area: Annotated[list[str] | None, typer.Option(help="tool server: service area (repeatable)")] = None,
    advertise_host: Annotated[str | None, typer.Option(help="tool server: host in the registered URL")]
    = None,
    management: ManagementOpt = None,
    client_id: ClientIdOpt = None,
    client_secret: SecretOpt = None,
    config: Annotated[Path | None, typer.Option(help="management server: its YAML configuration")] = None,
) -> None:
    """Serve NetMCP: a tool server over a simulated network, or the management server."""
    if role is Role.management:
        _serve_management(config, host, port, transport)
        return
    from streams.tools.serve import ToolServing, serve_network, serve_network_stdio

    sc = load_checked(scenario)
    if management is not None and (client_id is None or client_secret is None):
        raise fail("--management needs --client-id and --client-secret (or NETLOOP_CLIENT_ID/SECRET)")
    serving = ToolServing(role=tools.value, server_id=server_id, host=advertise_host or host, port=port,
                          management_url=management, client_id=client_id, client_secret=client_secret,
                          service_area=tuple(area or ["default"]))
    if transport is Transport.stdio:
        asyncio.run(serve_network_stdio(sc, speed=speed, serving=serving))
        return
    err.print(f"NetMCP {tools.value} tools of scenario {sc.name} at http://{host}:{port}/mcp",
              highlight=False)
    asyncio.run(serve_network(sc, port=port, host=host, speed=speed, serving=serving))


def _serve_management(config: Path | None, host: str, port: int, transport: Transport) -> None:
    from netmcp.management import serve_management
    from netmcp.management_config import ConfigError, build_management, load_management_config

    if transport is not Transport.http:
        raise fail("the management server speaks HTTP only (--transport http)")
    if config is None:
        raise fail("the management server needs --config FILE (trusted clients, secrets)")
    try:
        mgmt = build_management(load_management_config(config))
    except ConfigError as exc:
        raise fail(str(exc)) from None
    err.print(f"NetMCP management server at http://{host}:{port}", highlight=False)
    asyncio.run(serve_management(mgmt.app, host, port))


@netmcp_app.command("tools")
def tools_cmd(
    url: UrlOpt = "http://127.0.0.1:8765/mcp",
    search: Annotated[str | None, typer.Option(help="only the tools most relevant to this text")] = None,
    k: Annotated[int, typer.Option(min=1, help="how many search results")] = 5,
) -> None:
    """List a tool server's tools with their NetMCP metadata (or search them)."""
    from netmcp import NetMcpClient

    async def go() -> tuple[bool, list[Any]]:
        async with NetMcpClient(url, name="netloop-cli") as c:
            return c.netmcp, (await c.search(search, k) if search else await c.tools())

    netmcp, found = _run(go(), url)
    table = Table(title=f"{url} ({'NetMCP' if netmcp else 'plain MCP'})")
    for col in ("tool", "domain", "category", "permission", "parameters", "description"):
        table.add_column(col)
    if search:
        table.add_column("score")
    for t in found:
        n = t.netmcp
        params = ", ".join(t.input_schema.get("properties", {}))
        row = [t.name, n.get("domain", ""), n.get("category", ""), n.get("permission", ""), params,
               t.description]
        table.add_row(*row, *([f"{t.score:.2f}"] if search else []))
    Console().print(table)


@netmcp_app.command("call")
def call_cmd(
    tool: Annotated[str, typer.Argument(help="tool name")],
    arg: Annotated[list[str] | None, typer.Option("--arg", help="k=v (repeatable; v parsed as JSON)")] = None,
    url: UrlOpt = "http://127.0.0.1:8765/mcp",
    action_id: Annotated[str | None, typer.Option(help="idempotency key: a repeat is not executed")] = None,
    management: ManagementOpt = None,
    client_id: ClientIdOpt = None,
    client_secret: SecretOpt = None,
) -> None:
    """Call one tool and print its result (with a token from the management server when configured)."""
    from netmcp import NetMcpClient

    arguments = _parse_args(arg or [])
    token = _token_source(management, client_id, client_secret)

    async def go() -> Any:
        async with NetMcpClient(url, token=token, name="netloop-cli") as c:
            return await c.call(tool, arguments, action_id=action_id)

    result = _run(go(), url)
    text = " ".join(getattr(c, "text", "") for c in result.content)
    out = result.structured_content if result.structured_content is not None else text
    print(json.dumps(out, indent=2) if not isinstance(out, str) else out)
    if result.is_error:
        raise typer.Exit(code=1)


AdminOpt = Annotated[str, typer.Option(envvar="NETLOOP_ADMIN_SECRET", prompt=True, hide_input=True,
                                       help="the management server's admin secret")]
ManagementUrl = Annotated[str, typer.Option("--management", envvar="NETLOOP_MANAGEMENT_URL",
                                            help="management server URL")]


@consent_app.command("list")
def consent_list(management: ManagementUrl = "http://127.0.0.1:8700", admin_secret: AdminOpt = "") -> None:
    """Third-party agents waiting for a human to allow them a token."""
    from netmcp.management_client import ManagementClient

    async def go() -> list[dict[str, Any]]:
        async with ManagementClient(management) as m:
            return await m.consents(admin_secret)

    table = Table(title="consent requests")
    for col in ("id", "agent", "client id", "scopes", "asks"):
        table.add_column(col)
    for c in _management_run(go(), management):
        table.add_row(c["consent_id"], c["agent_name"], c["client_id"], " ".join(c["scopes"]), c["text"])
    Console().print(table)


@consent_app.command("approve")
def consent_approve(consent_id: str, management: ManagementUrl = "http://127.0.0.1:8700",
                    admin_secret: AdminOpt = "") -> None:
    """Allow an agent what it asked for: it gets a one-time code at its redirect URL."""
    _answer(consent_id, True, management, admin_secret)


@consent_app.command("deny")
def consent_deny(consent_id: str, management: ManagementUrl = "http://127.0.0.1:8700",
                 admin_secret: AdminOpt = "") -> None:
    """Refuse an agent's request: it is told so at its redirect URL."""
    _answer(consent_id, False, management, admin_secret)


def _answer(consent_id: str, approve: bool, management: str, admin_secret: str) -> None:
    from netmcp.management_client import ManagementClient

    async def go() -> str:
        async with ManagementClient(management) as m:
            return await m.answer_consent(consent_id, approve, admin_secret)

    redirect = _management_run(go(), management)
    print(f"{'approved' if approve else 'denied'} {consent_id}; the agent is sent to {redirect}")


def _management_run(coro: Any, url: str) -> Any:
    import httpx

    from netmcp.management_client import ManagementError

    try:
        return asyncio.run(coro)
    except ManagementError as exc:
        raise fail(f"{url}: {exc.error}: {exc}") from None
    except (OSError, httpx.HTTPError) as exc:
        raise fail(f"cannot reach {url}: {exc}") from None


def _parse_args(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise fail(f"--arg {pair!r}: expected key=value")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _token_source(management: str | None, client_id: str | None, secret: str | None) -> Any:
    if management is None:
        return None
    if client_id is None or secret is None:
        raise fail("--management needs --client-id and --client-secret (or NETLOOP_CLIENT_ID/SECRET)")
    from netmcp.management_client import ManagementClient

    async def token() -> str:
        async with ManagementClient(management) as m:
            return (await m.token(client_id, secret)).access_token

    return token


def _run(coro: Any, url: str) -> Any:
    """Run a client coroutine; a refusal or an unreachable server is an error line, not a traceback."""
    import httpx
    from mcp.shared.exceptions import MCPError

    from netmcp.management_client import ManagementError

    try:
        return asyncio.run(coro)
    except ManagementError as exc:
        raise fail(f"management server refused: {exc.error}: {exc}") from None
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the management server: {exc}") from None
    except MCPError as exc:
        raise fail(f"refused (code {exc.error.code}): {exc.error.message}") from None
    except BaseExceptionGroup as group:
        refusal = group.subgroup(MCPError)
        if refusal is not None:
            first = _leaf(refusal)
            raise fail(f"refused (code {first.error.code}): {first.error.message}") from None
        raise fail(f"cannot reach {url}: {_leaf(group)}") from None
    except OSError as exc:
        raise fail(f"cannot reach {url}: {exc}") from None


def _leaf(group: BaseException) -> Any:
    while isinstance(group, BaseExceptionGroup):
        group = group.exceptions[0]
    return group

