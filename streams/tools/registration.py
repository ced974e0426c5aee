"""A tool server's life with the management server: token, keys, registration, load reports.

The tool server gets a token (client credentials, scope ``netmcp:register``),
builds its token verifier from the management server's JWK set and the
issuer of that token, registers its record, reports its load (calls per
second, from its audit log) every ``interval_s`` and deregisters when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

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

    def __init__(self, serving: ToolServing, audit: AuditLog, *, interval_s: float = 5.0) -> None:
        if serving.management_url is None or serving.client_id is None or serving.client_secret is None:
            raise ValueError("a managed tool server needs the management URL, a client id and a secret")
        self.serving, self.audit, self.interval_s = serving, audit, interval_s
        self.client = ManagementClient(serving.management_url)
        self._task: asyncio.Task[None] | None = None

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
        s = self.serving
        assert s.client_id is not None and s.client_secret is not None
        grant = await self.client.token(s.client_id, s.client_secret, [NETMCP_REGISTER])
        return grant.access_token

    async def _report(self) -> None:
        seen, since = self.audit.total, time.monotonic()
        while True:
            await asyncio.sleep(self.interval_s)
            now, count = time.monotonic(), self.audit.total
            load = (count - seen) / max(now - since, 1e-9)
            seen, since = count, now
            try:
                await self.client.report_load(self.record.server_id, load, await self._token())
            except (ManagementError, OSError) as exc:
                log.warning("load report to %s failed: %s", self.serving.management_url, exc)
