"""Fuzzing the JSON-RPC surface of a tool server and the HTTP surface of the management server.

Property-based (hypothesis). A tool call with any name and any arguments is answered with a result or
a NetMCP/JSON-RPC refusal, never an internal error, and a refused call never reaches the network. Any
request to the management server is answered below 500, a 4xx naming what was wrong.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR

from netmcp import SPECS, build_server
from netmcp.auth import NETMCP_REGISTER, NETWORK_ACT, Authority
from netmcp.management import build_management_app
from netmcp.registry import Registry
from tests.mcp_wire import wire_to
from tests.test_fuzz_records import JSON
from tests.test_netmcp import FakeNetwork

pytestmark = pytest.mark.fuzz

PARAMS = sorted({"cell_id", "link_id", "upf_id", "amf_id", "smf_id", "entity_id", "tilt_deg",
                 "mechanical_tilt_deg", "offload_ratio", "max_neighbours", "carrier_mhz", "bandwidth_mhz",
                 "instances", "drain_s", "max_utilization_ratio", "radius", "force"})
NUMBERS = st.integers(min_value=-(10**400), max_value=10**400) | st.floats() | st.sampled_from(
    ["cell-0001-1", "link-0001", "upf-1", "amf-1", "smf-1"])
ARGS = st.dictionaries(st.sampled_from(PARAMS) | st.text(max_size=10), NUMBERS | JSON, max_size=5)
TOOLS = st.sampled_from(sorted(SPECS)) | st.text(max_size=12)


@given(tool=TOOLS, args=ARGS, key=st.none() | st.text(max_size=10))
@example(tool="reroute_link", args={"link_id": "link-0001", "max_utilization_ratio": 10**400}, key="A")
@example(tool="set_antenna_tilt", args={"cell_id": "cell-0001-1", "tilt_deg": -1e308 * 10}, key=None)
def test_any_tool_call_is_answered_or_refused_never_an_internal_error(tool: str, args: dict[str, Any],
                                                                      key: str | None) -> None:
    network = FakeNetwork()

    async def go() -> MCPError | None:
        async with Client(build_server(network)) as c:
            meta = {"netloop.io/action-id": key} if key is not None else None
            try:
                await c.call_tool(tool, args, meta=meta)
            except MCPError as exc:
                return exc
        return None

    refusal = asyncio.run(go())
    if refusal is not None:
        assert refusal.error.code not in (0, INTERNAL_ERROR), refusal.error
        assert refusal.error.message
        assert network.applied == []


@pytest.mark.parametrize("spelled", ["NaN", "-Infinity", "1e999", "-" + "9" * 500, "true", "[1e400]",
                                     '{"a": NaN}', '"\\u0000"'])
def test_numbers_json_cannot_carry_are_refused_over_the_wire_never_an_internal_error(spelled: str) -> None:
    network = FakeNetwork()

    async def go() -> list[dict]:
        async with wire_to(build_server(network)) as wire:
            return [await wire.call(tool, f'{{"{param}":{spelled},"cell_id":"cell-0001-1"}}')
                    for tool, param in (("set_antenna_tilt", "tilt_deg"),
                                        ("enable_load_balancing", "max_neighbours"),
                                        ("restart_cell", "force"))]

    for answer in asyncio.run(go()):
        assert answer is not None
        error = answer.get("error")
        assert error is None or error["code"] not in (0, INTERNAL_ERROR), error
        assert error is not None or answer["result"].get("isError")
    assert network.applied == []


def _management() -> Any:
    authority = Authority()
    authority.add_client("tool-servers", "tool-servers-secret-000", [NETMCP_REGISTER])
    authority.add_client("actuator", "actuator-secret-0000000", [NETWORK_ACT])
    return build_management_app(Registry(), authority, admin_secret="admin-secret-0123456789")


PATHS = st.sampled_from(["/servers", "/servers/ran-1", "/servers/ran-1/load", "/discover", "/healthz",
                         "/oauth/token", "/oauth/register", "/oauth/authorize", "/consents",
                         "/consents/c-1/approve", "/consents/c-1/deny", "/.well-known/jwks.json",
                         "/.well-known/oauth-authorization-server"]) | st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?#%"), max_size=20).map(
    lambda t: "/" + t)
BODIES = st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()) | st.dictionaries(
    st.sampled_from(["grant_type", "client_id", "client_secret", "scope", "code", "code_verifier",
                     "redirect_uri", "x"]), st.text(max_size=30), max_size=5).map(
    lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode())
HEADERS = st.fixed_dictionaries({}, optional={
    "content-type": st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain",
                                     ""]),
    "authorization": st.sampled_from(["Bearer x.y.z", "Bearer ", "Basic Zm9vOmJhcg==", "Basic !!!",
                                      "Bearer admin-secret-0123456789", "Digest x"])})
QUERY = st.dictionaries(st.sampled_from(["area", "task", "tool", "k", "response_type", "client_id",
                                         "redirect_uri", "code_challenge", "scope", "state"]),
                        st.text(max_size=20), max_size=4)


@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]), path=PATHS, body=BODIES,
       headers=HEADERS, query=QUERY)
def test_any_request_to_the_management_server_is_answered_below_500(method: str, path: str, body: bytes,
                                                                    headers: dict[str, str],
                                                                    query: dict[str, str]) -> None:
    app = _management()

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://m") as c:
            return await c.request(method, path, content=body, headers=headers, params=query)

    response = asyncio.run(go())
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400 and response.status_code not in (404, 405):  # routing: starlette's own
        assert response.json()["error"]
