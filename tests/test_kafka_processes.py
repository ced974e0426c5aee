"""The deployed shape: `netloop emulate` and `netloop worker` as separate processes on one broker."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from importlib import resources

from aiokafka import AIOKafkaConsumer

from schemas import topics
from streams.kafka.topics import partitions_of
from streams.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    code = "from streams.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _resolved_incidents(bootstrap: str, want: set[str], timeout: float) -> set[str]:
    """The roots of the resolved incidents, once ``want`` are among them."""
    consumer = AIOKafkaConsumer(topics.INCIDENTS, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", fetch_max_wait_ms=20)
    await consumer.start()
    resolved: set[str] = set()
    try:
        async with asyncio.timeout(timeout):
            while not resolved >= want:
                for msgs in (await consumer.getmany(timeout_ms=200)).values():
                    for m in msgs:
                        inc = json.loads(m.value)
                        if inc["status"] == "resolved":
                            resolved.add(inc["candidates"][0]["entity_id"])
    finally:
        await consumer.stop()
    return resolved


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode(errors="replace")


FAULTS = {"link-0003", "cell-0005-2", "upf-2"}  # smoke's three


def test_an_emulator_and_a_worker_process_close_the_loop_through_kafka_and_mcp(kafka, tmp_path):
    ideal = tmp_path / "smoke.yaml"  # the transport is under test here, not the world: no imperfections
    ideal.write_text(resources.files("simulator").joinpath("scenarios/smoke.yaml").read_text()
                     + "realism: ideal\n")
    settings = Settings(partitions=2)
    for t in topics.ALL_TOPICS:
        kafka.create_topic(t, partitions_of(t, settings))
    env = {**os.environ, "NETLOOP_BROKER": kafka.url, "NETLOOP_PARTITIONS": "2",
           "NETLOOP_FETCH_MAX_WAIT_MS": "20",
           "NETLOOP_MCP_URL": f"http://127.0.0.1:{_free_port()}/mcp"}
    worker = _spawn(["worker", "--no-create-topics"], env)
    emulator = _spawn(["emulate", "--scenario", str(ideal), "--speed", "25"], env)
    try:
        roots = asyncio.run(_resolved_incidents(kafka.bootstrap, want=FAULTS, timeout=120))
    finally:
        errors = _stop(emulator) + _stop(worker)
    assert roots >= FAULTS, errors[-2000:]  # a noise incident may resolve too, without an action
