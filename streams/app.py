"""The module-level faust app that ``faust -A streams.app worker`` (and ``netloop worker``) runs.

Building it reads ``NETLOOP_*`` settings and connects to nothing; the act
stage calls the NetMCP server at ``NETLOOP_MCP_URL`` when the first action
arrives.
"""

from __future__ import annotations

from actuators import Executor
from streams.kafka_app import create_app
from streams.mcp_caller import HttpToolCaller
from streams.metrics import LoopMetrics
from streams.settings import Settings

settings = Settings()
metrics = LoopMetrics()
app = create_app(settings, executor=Executor(caller=HttpToolCaller(settings.mcp_url)),
                 metrics=metrics)
