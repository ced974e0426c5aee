"""Wrong client secrets are rate limited per caller address, and checking a secret never blocks the
management server's event loop (``/healthz`` answers while a secret is being hashed).

The management app in memory (``httpx.ASGITransport``), each caller address set in the ASGI scope.
"""

from __future__ import annotations

import asyncio
import threading

import httpx

from netmcp import auth
from netmcp.auth import NETMCP_REGISTER, Authority
from netmcp.management import build_management_app
from netmcp.registry import Registry

SECRET = "tool-servers-secret-000"
ADMIN = "admin-secret-0123456789"


def _app(**kw):
    authority = Authority()
    authority.add_client("tool-servers", SECRET, [NETMCP_REGISTER])
    return build_management_app(Registry(), authority, admin_secret=ADMIN, **kw)


def _client(app, host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, client=(host, 40000)), base_url="http://m")


async def _token(c: httpx.AsyncClient, secret: str) -> httpx.Response:
    return await c.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "tool-servers",
                                              "client_secret": secret})


def test_a_caller_sending_wrong_secrets_is_slowed_down_and_others_are_not() -> None:
    app = _app(max_failed_grants=5, failed_grant_window_s=60.0)

    async def go() -> tuple[list[int], httpx.Response, int, int]:
        async with _client(app, "192.0.2.7") as outsider, _client(app, "192.0.2.8") as tool_server:
            codes = [(await _token(outsider, f"wrong-secret-{n:06d}")).status_code for n in range(8)]
            blocked = await _token(outsider, SECRET)  # even the right secret, while it is slowed down
            return codes, blocked, (await _token(tool_server, SECRET)).status_code, \
                (await _token(tool_server, "wrong")).status_code

    codes, blocked, other_ok, other_wrong = asyncio.run(go())
    assert codes == [401] * 5 + [429] * 3
    assert blocked.status_code == 429 and blocked.json()["error"] == "slow_down"
    assert int(blocked.headers["Retry-After"]) > 0
    assert other_ok == 200 and other_wrong == 401


def test_the_event_loop_answers_while_a_secret_is_being_checked(monkeypatch) -> None:
    released, hashing = threading.Event(), threading.Event()
    waited_out: list[bool] = []
    real = auth._scrypt

    def slow_scrypt(secret: str, salt: bytes) -> bytes:
        hashing.set()
        waited_out.append(not released.wait(5.0))  # on the event loop, nothing could set it in time
        return real(secret, salt)

    app = _app()
    monkeypatch.setattr(auth, "_scrypt", slow_scrypt)

    async def go() -> tuple[int, bool]:
        async with _client(app, "192.0.2.9") as c:
            grant = asyncio.create_task(_token(c, SECRET))
            while not hashing.is_set():
                await asyncio.sleep(0)  # let the grant reach the hash
            health = await c.get("/healthz")
            answered_first = not released.is_set()
            released.set()
            return (await grant).status_code, health.status_code == 200 and answered_first

    status, healthz_first = asyncio.run(go())
    assert status == 200 and healthz_first and waited_out == [False]
