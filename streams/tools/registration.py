"""A tool server's life with the management server: token, keys, registration, load reports.

The tool server gets a token (client credentials, scope ``netmcp:register``),
fetches the management server's JWK set into its token verifier (the issuer
from that token), registers its record, reports its load (calls per second,
from its audit log) every ``interval_s`` and deregisters when it stops.

Outages end, whenever they happen: all of it runs in one background task, so a
tool server started while the management server is down serves its public
tools at once (refusing tokens until it has the keys) and registers once the
management server is up. A step that cannot reach the management server (or is
refused) is logged and tried again, backing off from ``interval_s`` up to
``max_backoff_s``; a management server that no longer knows the server (it
restarted) gets the keys fetched again and the registration again. The token
is kept until 80% of its lifetime, and fetched again after a 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import httpx
import jwt

from netmcp import SPECS, AuditLog
from netmcp.auth import NETMCP_REGISTER
from netmcp.catalog import ROLES, SCOPES_OF_ROLE
from netmcp.management_client import ManagementClient, ManagementError
from netmcp.registry import ServerRecord, ToolDescriptor
from netmcp.tokens import PendingVerifier, TokenVerifier

if TYPE_CHECKING:
    from streams.tools.serve import ToolServing

log = logging.getLogger("netloop.serve")


def server_record(serving: ToolServing, descriptions: dict[str, str]) -> ServerRecord:
    """The record a tool server registers: its metadata and its tools."""
    names = sorted(ROLES[serving.role])
    tools = tuple(ToolDescriptor(name=n, description=descriptions.get(n, n), labels=SPECS[n].labels,
                                 category=SPECS[n].category.value, domain=SPECS[n].domain.value)
                  for n in names)
    url = f"http://{serving.host}:{serving.port}/mcp"
    labels, summary = SCOPES_OF_ROLE[serving.role]
    return ServerRecord(server_id=serving.server_id or f"netloop-{serving.role}", url=url,
                        vendor=serving.vendor, max_load=serving.max_load, service_area=serving.service_area,
                        summary=summary, labels=labels, tools=tools)


# A management server that is down, refuses, or answers what cannot be used (a body that is not
# JSON, a JWK set without a key, a token without an issuer): each is tried again later.
_OUTAGE = (ManagementError, httpx.HTTPError, OSError, ValueError, KeyError, jwt.PyJWTError)


class Registration:
    """Registers a tool server and keeps its load fresh until :meth:`stop`, whatever the outages.

    Attributes
    ----------
    verifier
        The tool server's token verifier: it refuses every token until the
        management server's keys have been fetched.
    """

    def __init__(self, serving: ToolServing, audit: AuditLog, *, interval_s: float = 5.0,
                 max_backoff_s: float = 60.0) -> None:
        if serving.management_url is None or serving.client_id is None or serving.client_secret is None:
            raise ValueError("a managed tool server needs the management URL, a client id and a secret")
        self.serving, self.audit, self.interval_s = serving, audit, interval_s
        self.max_backoff_s = max(max_backoff_s, interval_s)
        self.client = ManagementClient(serving.management_url)
        self.verifier = PendingVerifier()
        self.record: ServerRecord | None = None
        self._registered = False
        self._task: asyncio.Task[None] | None = None
        self._grant: tuple[str, float] | None = None  # token, monotonic time it is to be renewed
        self.last_outcome: str | None = None
        """How the last attempt went: ``registered`` (first, or again: the server forgot it), ``ok``
        (a load report), ``failed``."""
        self.reported = asyncio.Event()
        """Set after each attempt (tests and health checks wait on it)."""

    @property
    def running(self) -> bool:
        """Whether the registration and load reports go on."""
        return self._task is not None and not self._task.done()

    def start(self, descriptions: dict[str, str]) -> None:
        """Register the server with its tools' descriptions, then report its load, until :meth:`stop`."""
        self.record = server_record(self.serving, descriptions)
        self._task = asyncio.create_task(self._run())

    async def first_attempt(self) -> None:
        """Return once the first attempt to register is over, whatever its outcome."""
        assert self._task is not None, "start() first"
        waiting = asyncio.ensure_future(self.reported.wait())
        await asyncio.wait({waiting, self._task}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if self._task.done():
            self._task.result()  # it cannot end on its own: raise why it did

    async def stop(self) -> None:
        """Stop, deregister (when registered and the management server is reachable), close."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._registered and self.record is not None:
            with contextlib.suppress(*_OUTAGE):
                await self.client.deregister(self.record.server_id, await self._token())
        await self.client.aclose()

    async def _run(self) -> None:
        seen, since = self.audit.total, time.monotonic()
        delay = 0.0  # the first attempt at once
        while True:
            await asyncio.sleep(delay)
            try:
                if not self._registered:
                    self.last_outcome = await self._connect()
                else:
                    now, count = time.monotonic(), self.audit.total
                    load = (count - seen) / max(now - since, 1e-9)
                    self.last_outcome = await self._report_once(load)
                    seen, since = count, now
                delay = self.interval_s
            except _OUTAGE as exc:  # an outage: back off, go on
                self._grant = None if isinstance(exc, ManagementError) and exc.status == 401 else self._grant
                delay = min(max(2 * delay, self.interval_s), self.max_backoff_s)
                self.last_outcome = "failed"
                log.warning("%s with %s failed (%s: %s); next try in %.1f s",
                            "load report" if self._registered else "registration",
                            self.serving.management_url, type(exc).__name__, exc, delay)
            self.reported.set()

    async def _connect(self) -> str:
        """Fetch the keys into the verifier, then register (again)."""
        assert self.record is not None
        token = await self._token()
        issuer = jwt.decode(token, options={"verify_signature": False})["iss"]
        self.verifier.load(TokenVerifier(await self.client.jwks(), issuer=issuer))
        await self.client.register(self.record, token)
        self._registered = True
        log.info("registered %s with %s", self.record.server_id, self.serving.management_url)
        return "registered"

    async def _token(self) -> str:
        """The token, fetched again once most of its lifetime has passed."""
        if self._grant is not None and time.monotonic() < self._grant[1]:
            return self._grant[0]
        s = self.serving
        assert s.client_id is not None and s.client_secret is not None
        grant = await self.client.token(s.client_id, s.client_secret, [NETMCP_REGISTER])
        self._grant = (grant.access_token, time.monotonic() + 0.8 * grant.expires_in)
        return grant.access_token

    async def _report_once(self, load: float) -> str:
        assert self.record is not None
        token = await self._token()
        try:
            await self.client.report_load(self.record.server_id, load, token)
            return "ok"
        except ManagementError as exc:
            if exc.status != 404:
                raise
        log.warning("%s forgot %s (restarted?): registering again", self.serving.management_url,
                    self.record.server_id)
        self._registered = False  # keys and registration again, now or after the outage
        return await self._connect()
