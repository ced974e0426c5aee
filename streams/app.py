"""The module-level faust app that ``faust -A streams.app worker`` (and ``netloop worker``) runs.

Building it reads ``NETLOOP_*`` settings and connects to nothing. When the
first action arrives, the act stage calls the NetMCP tool server at
``NETLOOP_MCP_URL``, or, with ``NETLOOP_MANAGEMENT_URL``, whichever server the
management server names for the tool, with a token it issued to
``NETLOOP_CLIENT_ID``.
"""

from __future__ import annotations

from actuators import Executor
from actuators.executor import ToolCaller
from streams.kafka.agents import create_app
from streams.metrics import LoopMetrics
from streams.settings import Settings
from streams.tools.mcp_caller import HttpToolCaller


def tool_caller(settings: Settings) -> ToolCaller:
    """The act stage's way to the tools: through the management server when one is configured."""
    if settings.management_url is None:
        return HttpToolCaller(settings.mcp_url)
    from netmcp.management_client import ManagementClient
    from streams.tools.netmcp_caller import NetMcpCaller

    if problem := settings.management_problem():
        raise ValueError(problem)
    assert settings.client_id is not None and settings.client_secret is not None
    return NetMcpCaller(ManagementClient(settings.management_url), client_id=settings.client_id,
                        secret=settings.client_secret, area=settings.service_area)


settings = Settings()
metrics = LoopMetrics()
app = create_app(settings, executor=Executor(caller=tool_caller(settings)), metrics=metrics)
