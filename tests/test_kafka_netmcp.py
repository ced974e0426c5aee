"""On Kafka, with a NetMCP management server: the emulator's tool server registers there and
verifies tokens, and the worker's act stage discovers the tools and calls them with a token.

The management server and the worker are processes; the emulator runs in the test, so its
tool server's audit shows who called what.
"""

import asyncio
import os

import pytest

from netmcp import ACTUATOR, AuditLog
from netmcp.management_client import ManagementClient
from schemas import topics
from simulator import load_scenario
from streams.kafka.emulator import Emulator
from streams.kafka.topics import partitions_of
from streams.settings import Settings
from tests.test_kafka_processes import _spawn, _stop
from tests.test_kafka_restart import ROOTS, _Loop, _resolved_roots
from tests.test_netmcp_processes import SECRET, TOOL_SECRET, free_port, management_config, wait_for_port


@pytest.mark.timeout(300)
def test_the_worker_acts_on_the_tool_server_the_management_server_names_with_a_token(kafka, tmp_path):
    config = management_config(tmp_path / "management.yml", "emulator")
    mport = free_port()
    management = f"http://127.0.0.1:{mport}"
    settings = Settings(broker=kafka.url, partitions=2, fetch_max_wait_ms=20,
                        mcp_url=f"http://127.0.0.1:{free_port()}/mcp", management_url=management,
                        client_id="emulator", client_secret=TOOL_SECRET)
    for t in topics.ALL_TOPICS:
        kafka.create_topic(t, partitions_of(t, settings))
    env = {**os.environ, "NETLOOP_BROKER": kafka.url, "NETLOOP_PARTITIONS": "2",
           "NETLOOP_FETCH_MAX_WAIT_MS": "20", "NETLOOP_MANAGEMENT_URL": management,
           "NETLOOP_CLIENT_ID": ACTUATOR, "NETLOOP_CLIENT_SECRET": SECRET,
           "NETLOOP_MCP_URL": "http://127.0.0.1:9/mcp"}  # not used: the management server says where
    emulator = Emulator(load_scenario("smoke").idealized(), settings, speed=25.0, audit=AuditLog())
    mproc = _spawn(["netmcp", "serve", "--role", "management", "--port", str(mport), "--config", str(config)],
                   env)

    async def go():
        await wait_for_port(mport, mproc)
        incidents = _Loop(kafka.bootstrap)
        following = asyncio.create_task(incidents.follow())
        tools = asyncio.create_task(emulator.serve_tools())
        await asyncio.wait_for(emulator.tools_ready.wait(), 30)
        async with ManagementClient(management) as m:
            registered = [s.record.server_id for s in await m.servers()]
        worker = _spawn(["worker", "--no-create-topics"], env)
        publishing = asyncio.create_task(
            emulator.publish(progress=lambda: incidents.detected(settings.partitions)))
        try:
            await publishing
            await incidents.until(_resolved_roots, 150)  # generous: a loaded machine, three processes
        finally:
            errors = _stop(worker)
            emulator.stop_tools()
            following.cancel()
            await asyncio.gather(tools, following, publishing, return_exceptions=True)
        return registered, incidents, errors

    try:
        registered, incidents, errors = asyncio.run(go())
    finally:
        _stop(mproc)
    assert registered == ["emulator"]
    assert set(incidents.ids_by_root()) >= ROOTS, errors[-2000:]  # and a noise incident, not acted on
    assert all(f.ended_by == "action" for f in emulator.network.truth), emulator.network.truth
    acted = [r for r in emulator.audit if r.action_id]
    remedies = [r for r in acted if "#rollback" not in r.action_id]  # not the reroute's revert
    assert len(remedies) == 3 and all(r.outcome == "ok" and r.client_id == ACTUATOR for r in acted), acted
