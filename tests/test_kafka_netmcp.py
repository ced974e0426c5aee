"""On Kafka, with a NetMCP management server: the emulator's tool server registers there and
verifies tokens, and the worker's act stage discovers the tools and calls them with a token.

The management server is a process; the emulator runs in the test, so its tool server's audit
shows who called what. The worker is the loop's faust app (`create_app`, as `streams.app` builds
it, with the act stage's caller `netloop worker` builds from ``NETLOOP_MANAGEMENT_URL``) in the
test's process, as `netloop run --broker` runs it: the emulator then stays a few ticks ahead of
the last tick verify closed, not of detect's. A worker process shows the test only detect's
marks, and a loaded machine's act stage lagged them by dozens of ticks: actions landed after a
fault's natural end, and the test failed or timed out about one run in three.
"""

import asyncio
import os

import pytest

from actuators import Executor
from netmcp import ACTUATOR, AuditLog
from netmcp.management_client import ManagementClient
from schemas import topics
from simulator import load_scenario
from streams.kafka.agents import KafkaHooks, create_app
from streams.kafka.emulator import Emulator
from streams.kafka.topics import partitions_of
from streams.metrics import LoopMetrics
from streams.settings import Settings
from streams.tools.netmcp_caller import NetMcpCaller
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
    worker_settings = settings.model_copy(update={"client_id": ACTUATOR, "client_secret": SECRET})
    emulator = Emulator(load_scenario("smoke").idealized(), settings, speed=25.0, audit=AuditLog())
    mproc = _spawn(["netmcp", "serve", "--role", "management", "--port", str(mport), "--config", str(config)],
                   dict(os.environ))
    verified = [-1]

    def closed(stage: str, tick: int) -> None:
        if stage == "verify":
            verified[0] = tick

    async def go():
        await wait_for_port(mport, mproc)
        incidents = _Loop(kafka.bootstrap)
        following = asyncio.create_task(incidents.follow())
        tools = asyncio.create_task(emulator.serve_tools())
        await asyncio.wait_for(emulator.tools_ready.wait(), 30)
        async with ManagementClient(management) as m:
            registered = [s.record.server_id for s in await m.servers()]
        caller = NetMcpCaller(ManagementClient(management), client_id=ACTUATOR, secret=SECRET,
                              area=worker_settings.service_area)
        async with caller:  # connects to the servers it lists in this task, which closes them
            worker = create_app(worker_settings, executor=Executor(caller=caller), metrics=LoopMetrics(),
                                hooks=KafkaHooks(on_tick_closed=closed))
            await worker.start()
            publishing = asyncio.create_task(emulator.publish(progress=lambda: verified[0]))
            try:
                await publishing
                await incidents.until(_resolved_roots, 60)
            finally:
                await worker.stop()
                emulator.stop_tools()
                following.cancel()
                await asyncio.gather(tools, following, publishing, return_exceptions=True)
        return registered, incidents, caller.routed

    try:
        registered, incidents, routed = asyncio.run(go())
    finally:
        errors = _stop(mproc)
    assert registered == ["emulator"]
    assert set(incidents.ids_by_root()) >= ROOTS, errors[-2000:]  # and a noise incident, not acted on
    assert all(f.ended_by == "action" for f in emulator.network.truth), emulator.network.truth
    assert {server for _, server in routed} == {"emulator"}  # where discovery sent each call
    acted = [r for r in emulator.audit if r.action_id]
    remedies = [r for r in acted if "#rollback" not in r.action_id]  # not the reroute's revert
    assert len(remedies) == 3 and all(r.outcome == "ok" and r.client_id == ACTUATOR for r in acted), acted
