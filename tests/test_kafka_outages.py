"""A tool server outage on Kafka ends: a retried call wakes on a later tick, and a lasting outage escalates.

smoke on librdkafka's mock cluster; the act stage's calls of ``restart_cell`` (the cell outage's fix)
meet a tool server that does not answer (``httpx.ConnectError``, what a stopped server gives), once or
for the whole run.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from simulator import load_scenario
from streams.kafka.run import run_on_kafka
from streams.tools.mcp_caller import HttpToolCaller
from tests.test_kafka_loop import kafka_settings  # noqa: F401 - the fixture


@pytest.mark.parametrize("failures, remediated", [(1, 3), (10**6, 2)], ids=["one-call", "lasting"])
def test_a_tool_server_outage_ends_in_a_retry_that_works_or_an_escalation(
        kafka_settings, monkeypatch, failures: int, remediated: int) -> None:  # noqa: F811 - the fixture
    original = HttpToolCaller.call_tool
    refused: list[str] = []

    async def down_for_restarts(self, name, arguments=None, *, meta=None):
        if name == "restart_cell" and len(refused) < failures:
            refused.append(name)
            raise httpx.ConnectError("All connection attempts failed")
        return await original(self, name, arguments, meta=meta)

    monkeypatch.setattr(HttpToolCaller, "call_tool", down_for_restarts)
    report = asyncio.run(run_on_kafka(load_scenario("smoke"), kafka_settings, speed=100.0,
                                      create_topics=False))
    [outage] = [f for f in report.faults if f.type == "cell_outage"]
    assert report.faults_auto_remediated == remediated, report.faults
    if failures == 1:
        assert outage.ended_by == "action" and not outage.escalated
    else:
        assert outage.escalated and len(refused) >= 2  # the retry ran, then the incident went to a human
