"""NetMCP management server over HTTP: registry and discovery, OAuth endpoints, consent, config, uvicorn."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from netmcp.auth import NETMCP_REGISTER, NETWORK_ACT, NETWORK_READ, Authority
from netmcp.consent import pkce_challenge
from netmcp.management import build_management_app, serve_management
from netmcp.management_client import ManagementClient, ManagementError
from netmcp.registry import Registry, ServerRecord, ToolDescriptor
from netmcp.tokens import TokenVerifier
from tests.fake_clock import Clock

BASE = "http://management.test"
ADMIN = "admin-secret-0123456789"
SECRETS = {"ems-ran": "ems-ran-secret-000000", "ems-other": "ems-other-secret-00000",
           "act-worker": "act-worker-secret-0000"}
REDIRECT = "https://agent.example/cb"
RESTART_CELL = ToolDescriptor(name="restart_cell", labels=("ran",), category="remediation", domain="ran",
                              description="Restart a cell that is down (clears a cell outage).")
REROUTE_LINK = ToolDescriptor(name="reroute_link", labels=("transport",), domain="transport",
                              description="Move traffic of a degraded backhaul link onto another path.")
T = TypeVar("T")


@dataclass
class Stack:
    app: Starlette
    registry: Registry
    authority: Authority
    clock: Clock


@pytest.fixture
def stack() -> Stack:
    clock = Clock()
    authority = Authority(issuer="test-management", clock=clock)
    authority.add_client("ems-ran", SECRETS["ems-ran"], [NETMCP_REGISTER])
    authority.add_client("ems-other", SECRETS["ems-other"], [NETMCP_REGISTER])
    authority.add_client("act-worker", SECRETS["act-worker"], [NETWORK_READ, NETWORK_ACT])
    registry = Registry(clock, heartbeat_timeout_s=15)
    return Stack(build_management_app(registry, authority, admin_secret=ADMIN), registry, authority, clock)


def against(app: Starlette, scenario: Callable[[ManagementClient, httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run ``scenario`` with a ManagementClient and a raw httpx client, both on ``app`` in-process."""
    async def main() -> T:
        transport = httpx.ASGITransport(app)
        async with ManagementClient(BASE, transport=transport) as m, \
                httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            return await scenario(m, http)
    return asyncio.run(main())


def record(server_id: str, *tools: ToolDescriptor, area: str = "metro-north") -> ServerRecord:
    return ServerRecord(server_id=server_id, url=f"http://{server_id}:8765/mcp", vendor="acme",
                        max_load=100.0, service_area=(area,), summary="RAN recovery", labels=("ran",),
                        tools=tools or (RESTART_CELL,))


async def token_of(m: ManagementClient, client_id: str) -> str:
    return (await m.token(client_id, SECRETS[client_id])).access_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- registry and discovery -----------------------------------------------------------------------

def test_a_tool_server_registers_with_a_token_reports_load_and_is_discovered(stack: Stack) -> None:
    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> Any:
        token = await token_of(m, "ems-ran")
        timeout = await m.register(record("ran-a", RESTART_CELL, REROUTE_LINK), token)
        await m.report_load("ran-a", 25.0, token)
        return timeout, await m.discover(area="metro-north", task="cell is down, no traffic", k=1), \
            await m.servers()

    timeout, found, listed = against(stack.app, scenario)
    assert timeout == 15.0
    assert [d.tool.name for d in found] == ["restart_cell"]
    assert [(o.server_id, o.load, o.utilisation) for o in found[0].servers] == [("ran-a", 25.0, 0.25)]
    assert [(s.record.server_id, s.alive) for s in listed] == [("ran-a", True)]


def test_discovery_over_http_prefers_the_less_loaded_of_a_redundant_pair_and_flips(stack: Stack) -> None:
    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> list[list[str]]:
        token = await token_of(m, "ems-ran")
        orders = []
        for load_a, load_b in [(80.0, 10.0), (5.0, 60.0)]:
            await m.register(record("ran-a"), token) if not orders else None
            await m.register(record("ran-b"), token) if not orders else None
            await m.report_load("ran-a", load_a, token)
            await m.report_load("ran-b", load_b, token)
            [found] = await m.discover(tool="restart_cell")
            orders.append([o.server_id for o in found.servers])
        return orders

    assert against(stack.app, scenario) == [["ran-b", "ran-a"], ["ran-a", "ran-b"]]


def test_a_server_that_stops_reporting_drops_out_of_discovery_over_http(stack: Stack) -> None:
    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> Any:
        token = await token_of(m, "ems-ran")
        await m.register(record("ran-a"), token)
        await m.register(record("ran-b"), token)
        stack.clock.now += 10
        await m.report_load("ran-b", 90.0, token)
        stack.clock.now += 10
        return await m.discover(tool="restart_cell"), await m.servers()

    [found], listed = against(stack.app, scenario)
    assert [o.server_id for o in found.servers] == ["ran-b"]
    assert {s.record.server_id: s.alive for s in listed} == {"ran-a": False, "ran-b": True}


def test_registration_needs_a_live_token_with_the_register_scope(stack: Stack) -> None:
    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> list[httpx.Response]:
        body = record("ran-a").model_dump(mode="json")
        reader = await token_of(m, "act-worker")
        registrar = await token_of(m, "ems-ran")
        answers = [await http.post("/servers", json=body),
                   await http.post("/servers", json=body, headers=bearer(reader))]
        stack.clock.now += 901
        return [*answers, await http.post("/servers", json=body, headers=bearer(registrar))]

    missing, wrong_scope, expired = against(stack.app, scenario)
    assert (missing.status_code, missing.json()["error"]) == (401, "invalid_request")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert (wrong_scope.status_code, wrong_scope.json()["error"]) == (403, "insufficient_scope")
    assert NETMCP_REGISTER in wrong_scope.json()["error_description"]
    assert (expired.status_code, expired.json()["error"]) == (401, "invalid_token")
    assert "expired" in expired.json()["error_description"]
    assert stack.registry.servers() == []


def test_only_the_client_that_registered_a_server_may_change_or_remove_it(stack: Stack) -> None:
    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> list[ManagementError]:
        owner, other = await token_of(m, "ems-ran"), await token_of(m, "ems-other")
        await m.register(record("ran-a"), owner)
        refusals = []
        for attempt in (m.report_load("ran-a", 1.0, other), m.update("ran-a", other, vendor="evil"),
                        m.deregister("ran-a", other), m.register(record("ran-a"), other),
                        m.report_load("ghost", 1.0, other)):
            with pytest.raises(ManagementError) as refused:
                await attempt
            refusals.append(refused.value)
        await m.update("ran-a", owner, vendor="acme-2")
        await m.deregister("ran-a", owner)
        return refusals

    refusals = against(stack.app, scenario)
    assert [r.status for r in refusals] == [403, 403, 403, 403, 404]
    assert "another client" in str(refusals[0]) and "ghost" in str(refusals[-1])
    assert stack.registry.servers() == []


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/servers", {"server_id": "ran-a"}, "max_load"),
    ("POST", "/servers", "{not json", "body"),
    ("POST", "/servers", ["a", "list"], "body"),
    ("PUT", "/servers/ran-a", {"max_load": -3}, "max_load"),
    ("PUT", "/servers/ran-a", {"server_id": "ran-z"}, "server_id"),
    ("PUT", "/servers/ran-a", {"colour": "red"}, "colour"),
    ("POST", "/servers/ran-a/load", {"load": "lots"}, "load"),
    ("POST", "/servers/ran-a/load", {"lod": 3}, "load"),
    ("GET", "/discover?k=zero", None, "k"),
    ("GET", "/discover?k=500", None, "k"),
])
def test_bad_input_is_answered_400_naming_the_field_never_500(stack: Stack, method: str, path: str,
                                                             body: Any, field: str) -> None:
    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> httpx.Response:
        token = await token_of(m, "ems-ran")
        await m.register(record("ran-a"), token)
        content = body if isinstance(body, str) else None
        payload = None if isinstance(body, str) or body is None else body
        return await http.request(method, path, json=payload, content=content, headers=bearer(token))

    response = against(stack.app, scenario)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert field in response.json()["error_description"]


# --- the token endpoint -------------------------------------------------------------------------------

@pytest.mark.parametrize(("form", "status", "error"), [
    ({"grant_type": "client_credentials", "client_id": "act-worker", "client_secret": "wrong-secret-0000"},
     401, "invalid_client"),
    ({"grant_type": "client_credentials", "client_id": "act-worker", "client_secret": SECRETS["act-worker"],
      "scope": NETMCP_REGISTER}, 400, "invalid_scope"),
    ({"grant_type": "password", "client_id": "act-worker", "client_secret": SECRETS["act-worker"]},
     400, "unsupported_grant_type"),
    ({"client_id": "act-worker", "client_secret": SECRETS["act-worker"]}, 400, "invalid_request"),
    ({"grant_type": "authorization_code", "client_id": "act-worker", "client_secret": SECRETS["act-worker"],
      "code": "made-up", "code_verifier": "x" * 43, "redirect_uri": REDIRECT}, 400, "invalid_grant"),
])
def test_token_endpoint_errors_are_rfc6749_json(stack: Stack, form: dict[str, str], status: int,
                                                error: str) -> None:
    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> httpx.Response:
        return await http.post("/oauth/token", data=form)

    response = against(stack.app, scenario)
    assert response.status_code == status
    assert set(response.json()) == {"error", "error_description"}
    assert response.json()["error"] == error
    if status == 401:
        assert "www-authenticate" in response.headers


def test_the_token_endpoint_wants_a_form_and_accepts_http_basic_client_authentication(stack: Stack) -> None:
    basic = base64.b64encode(f"act-worker:{SECRETS['act-worker']}".encode()).decode()

    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> list[httpx.Response]:
        return [await http.post("/oauth/token", json={"grant_type": "client_credentials"}),
                await http.post("/oauth/token", data={"grant_type": "client_credentials",
                                                      "scope": NETWORK_READ},
                                headers={"Authorization": f"Basic {basic}"})]

    as_json, by_basic = against(stack.app, scenario)
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    assert by_basic.status_code == 200
    assert by_basic.headers["cache-control"] == "no-store"
    assert by_basic.json()["token_type"] == "Bearer" and by_basic.json()["scope"] == NETWORK_READ


def test_tool_servers_verify_tokens_with_the_published_key_set(stack: Stack) -> None:
    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> Any:
        metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
        health = (await http.get("/healthz")).json()
        return await m.jwks(), await token_of(m, "act-worker"), metadata, health

    jwks, token, metadata, health = against(stack.app, scenario)
    verifier = TokenVerifier(jwks, issuer="test-management", clock=stack.clock)
    assert verifier.check(token).client_id == "act-worker"
    assert metadata["issuer"] == "test-management"
    assert metadata["jwks_uri"] == f"{BASE}/.well-known/jwks.json"
    assert health == {"status": "ok"}


# --- untrusted agents and human consent -----------------------------------------------------------------

async def register_agent(http: httpx.AsyncClient) -> tuple[str, str]:
    answer = await http.post("/oauth/register", json={"client_name": "helpful-llm",
                                                      "redirect_uris": [REDIRECT], "scope": NETWORK_READ})
    assert answer.status_code == 201, answer.text
    return answer.json()["client_id"], answer.json()["client_secret"]


async def request_consent(http: httpx.AsyncClient, client_id: str, verifier: str) -> httpx.Response:
    return await http.get("/oauth/authorize", params={
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": NETWORK_READ,
        "state": "st-9", "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"})


def test_an_agent_gets_a_token_over_http_only_after_a_human_approves(stack: Stack) -> None:
    verifier = secrets.token_urlsafe(48)

    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> dict[str, Any]:
        client_id, secret = await register_agent(http)
        seen: dict[str, Any] = {"client_id": client_id}
        seen["credentials"] = await http.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
        seen["asked"] = await request_consent(http, client_id, verifier)
        seen["listed"] = await http.get("/consents", headers=bearer(ADMIN))
        consent_id = seen["asked"].json()["consent_id"]
        seen["approved"] = await http.post(f"/consents/{consent_id}/approve", headers=bearer(ADMIN))
        answer = parse_qs(urlsplit(seen["approved"].json()["redirect_to"]).query)
        seen["state"] = answer["state"][0]
        exchange = {"grant_type": "authorization_code", "client_id": client_id, "client_secret": secret,
                    "code": answer["code"][0], "code_verifier": verifier, "redirect_uri": REDIRECT}
        seen["token"] = await http.post("/oauth/token", data=exchange)
        seen["again"] = await http.post("/oauth/token", data=exchange)
        return seen

    seen = against(stack.app, scenario)
    refused, asked = seen["credentials"], seen["asked"]
    assert (refused.status_code, refused.json()["error"]) == (400, "unauthorized_client")
    assert asked.status_code == 202
    assert "helpful-llm" in asked.json()["text"] and NETWORK_READ in asked.json()["text"]
    assert [c["consent_id"] for c in seen["listed"].json()["consents"]] == [asked.json()["consent_id"]]
    assert seen["state"] == "st-9"
    access = stack.authority.verifier().check(seen["token"].json()["access_token"])
    assert (access.client_id, access.scopes) == (seen["client_id"], [NETWORK_READ])
    assert (seen["again"].status_code, seen["again"].json()["error"]) == (400, "invalid_grant")


def test_a_denied_consent_over_http_redirects_with_access_denied_and_no_code(stack: Stack) -> None:
    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> list[httpx.Response]:
        client_id, _ = await register_agent(http)
        consent_id = (await request_consent(http, client_id, secrets.token_urlsafe(48))).json()["consent_id"]
        return [await http.post(f"/consents/{consent_id}/approve"),
                await http.post(f"/consents/{consent_id}/deny", headers=bearer("not-the-admin-secret")),
                await http.post(f"/consents/{consent_id}/deny", headers=bearer(ADMIN)),
                await http.post(f"/consents/{consent_id}/approve", headers=bearer(ADMIN))]

    anonymous, wrong_admin, denied, too_late = against(stack.app, scenario)
    assert anonymous.status_code == 401 and wrong_admin.status_code == 401
    answer = parse_qs(urlsplit(denied.json()["redirect_to"]).query)
    assert answer == {"error": ["access_denied"], "state": ["st-9"]}
    assert too_late.status_code == 404


@pytest.mark.parametrize(("metadata", "error", "field"), [
    ({"redirect_uris": [REDIRECT]}, "invalid_client_metadata", "client_name"),
    ({"client_name": "a", "redirect_uris": ["http://agent.example/cb"]}, "invalid_redirect_uri", "https"),
    ({"client_name": "a", "redirect_uris": [REDIRECT], "scope": "network:everything"},
     "invalid_client_metadata", "network:everything"),
    ({"client_name": "a", "redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]},
     "invalid_client_metadata", "grant_types"),
])
def test_agent_registration_refuses_bad_metadata_naming_the_field(stack: Stack, metadata: dict[str, Any],
                                                                  error: str, field: str) -> None:
    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> httpx.Response:
        return await http.post("/oauth/register", json=metadata)

    response = against(stack.app, scenario)
    assert (response.status_code, response.json()["error"]) == (400, error)
    assert field in response.json()["error_description"]


# --- over real HTTP ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_served_management_server_answers_a_client_over_real_http(stack: Stack) -> None:
    port = free_port()

    async def main() -> Any:
        ready = asyncio.Event()
        serving = asyncio.create_task(serve_management(stack.app, "127.0.0.1", port, ready))
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait({serving, waiter}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        try:
            assert waiter in done, "the management server was not ready within 20 s"
            async with ManagementClient(f"http://127.0.0.1:{port}") as m:
                token = await token_of(m, "ems-ran")
                await m.register(record("ran-a"), token)
                await m.report_load("ran-a", 40.0, token)
                return await m.discover(tool="restart_cell")
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(serving, 20)

    [found] = asyncio.run(main())
    assert [(o.server_id, o.utilisation) for o in found.servers] == [("ran-a", 0.4)]
