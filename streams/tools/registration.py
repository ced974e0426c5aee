"""A tool server's life with the management server: token, keys, registration, load reports.

The tool server gets a token (client credentials, scope ``netmcp:register``),
builds its token verifier from the management server's JWK set and the
issuer of that token, registers its record, reports its load (calls per
second, from its audit log) every ``interval_s`` and deregisters when it stops.

Outages end: a report that cannot reach the management server (or is refused)
is logged and retried, backing off from ``interval_s`` up to ``max_backoff_s``;
a management server that no longer knows the server (it restarted) gets the
registration again. The token is kept until shortly before it expires.
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
from netmcp.tokens import TokenVerifier

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


class Registration:
    """Registers a tool server and keeps its load fresh until :meth:`stop`."""

    def __init__(self, serving: ToolServing, audit: AuditLog, *, interval_s: float = 5.0,
                 max_backoff_s: float = 60.0) -> None:
        if serving.management_url is None or serving.client_id is None or serving.client_secret is None:
            raise ValueError("a managed tool server needs the management URL, a client id and a secret")
        self.serving, self.audit, self.interval_s = serving, audit, interval_s
        self.max_backoff_s = max(max_backoff_s, interval_s)
        self.client = ManagementClient(serving.management_url)
        self._task: asyncio.Task[None] | None = None
        self._grant: tuple[str, float] | None = None  # token, monotonic time it is to be renewed
        self.last_outcome: str | None = None
        """How the last report went: ``ok``, ``registered`` (again: the server forgot it), ``failed``."""
        self.reported = asyncio.Event()
        """Set after each report attempt (tests and health checks wait on it)."""

    @property
    def running(self) -> bool:
        """Whether the load reports go on."""
        return self._task is not None and not self._task.done()

    async def verifier(self) -> TokenVerifier:
        """The verifier of the tokens the management server issues (its keys, its issuer)."""
        token = await self._token()
        issuer = jwt.decode(token, options={"verify_signature": False})["iss"]
        return TokenVerifier(await self.client.jwks(), issuer=issuer)

    async def register(self, descriptions: dict[str, str]) -> None:
        """Register the server with its tools' descriptions, then report its load until :meth:`stop`."""
        self.record = server_record(self.serving, descriptions)
        await self.client.register(self.record, await self._token())
        log.info("registered %s with %s", self.record.server_id, self.serving.management_url)
        self._task = asyncio.create_task(self._report())

    async def stop(self) -> None:
        """Stop reporting, deregister, close the connection."""
        if self._task is None:
            await self.client.aclose()
            return
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(ManagementError, OSError):
            await self.client.deregister(self.record.server_id, await self._token())
        await self.client.aclose()

    async def _token(self) -> str:
        """The token, fetched again once most of its lifetime has passed."""
        if self._grant is not None and time.monotonic() < self._grant[1]:
            return self._grant[0]
        s = self.serving
        assert s.client_id is not None and s.client_secret is not None
        grant = await self.client.token(s.client_id, s.client_secret, [NETMCP_REGISTER])
        self._grant = (grant.access_token, time.monotonic() + 0.8 * grant.expires_in)
        return grant.access_token

    async def _report(self) -> None:
        seen, since = self.audit.total, time.monotonic()
        delay = self.interval_s
        while True:
            await asyncio.sleep(delay)
            now, count = time.monotonic(), self.audit.total
            load = (count - seen) / max(now - since, 1e-9)
            seen, since = count, now
            try:
                self.last_outcome = await self._report_once(load)
                delay = self.interval_s
            except (ManagementError, httpx.HTTPError, OSError) as exc:  # an outage: back off, go on
                self._grant = None if isinstance(exc, ManagementError) and exc.status == 401 else self._grant
                delay = min(2 * delay, self.max_backoff_s)
                self.last_outcome = "failed"
                log.warning("load report to %s failed (%s: %s); next try in %.1f s",
                            self.serving.management_url, type(exc).__name__, exc, delay)
            self.reported.set()

    async def _report_once(self, load: float) -> str:
        token = await self._token()
        try:
            await self.client.report_load(self.record.server_id, load, token)
            return "ok"
        except ManagementError as exc:
            if exc.status != 404:
                raise
        await self.client.register(self.record, token)  # the management server restarted and forgot us
        log.warning("registered %s again with %s", self.record.server_id, self.serving.management_url)
        return "registered"
