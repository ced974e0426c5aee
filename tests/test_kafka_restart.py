"""A worker killed mid-incident and restarted in the same consumer group loses nothing and acts once.

The emulator runs in the test (its network and its tool server's audit are the ground truth).
The first worker is a `netloop worker` process, killed with SIGKILL while an incident is
mitigating: the tool was called, the fault cleared, and the incident waits for quiet ticks to
resolve. The emulator holds the network still meanwhile, so the incident cannot resolve before
the kill. The restarted worker is the same app (`create_app`, as `streams.app` builds it) in
the test's process, in the same consumer group, so that the emulator can stay a few ticks
ahead of the last tick its verify stage closed, as `netloop run --broker` does: the killed
worker holds some partitions until the broker's session timeout (set short here; faust's
default is 60 s), and the network must not run on while the loop cannot see it.

Nothing here waits on the clock: the emulator waits for the loop, in ticks. Before the kill it
can only see detect's marks, and the later stages of a loaded worker lag detect by dozens of
ticks, so it also stops short of the link fault's natural end until the test has seen the
incident and holds it. After the restart it waits for the new verify stage, counting from the
tick it was held at: the killed worker may have committed every tick up to there, and then no
mark of them comes again. Waiting for a tick verify could not close was the hang this test used
to end in, about one run in four; the other half of it was the restarted worker's clocks, which
refused every mark as too far ahead of the last tick judged in the incident log
(``test_a_clock_resumed_after_a_restart_closes_the_next_ticks_however_far_behind_its_watermark_is``).
"""

import asyncio
import os
import signal

import pytest
from aiokafka import AIOKafkaConsumer

from actuators import Executor
from netmcp import AuditLog
from schemas import Incident, IncidentStatus, TickMark, topics
from simulator import load_scenario
from streams.kafka.agents import KafkaHooks, create_app
from streams.kafka.emulator import Emulator
from streams.kafka.topics import partitions_of
from streams.metrics import LoopMetrics
from streams.settings import Settings
from streams.tools.mcp_caller import HttpToolCaller
from tests.test_kafka_processes import _free_port, _spawn, _stop

ROOTS = {"link-0003", "cell-0005-2", "upf-2"}  # smoke's three faults
MAX_LAG = 3  # the emulator's ticks ahead of the loop's progress (Emulator.publish's default)
UNSEEN_UNTIL = 250  # the network stops here until the link fault's incident (from 180, ends 330) is seen


class _Loop:
    """Follows what the worker writes: incidents, and how far detect has got (its tick marks).

    ``until`` waits for a condition on the incidents seen so far.
    """

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.seen: list[Incident] = []
        self.marks: dict[int, int] = {}  # telemetry partition -> last tick detect forwarded the mark of
        self._changed = asyncio.Condition()

    async def follow(self) -> None:
        consumer = AIOKafkaConsumer(topics.INCIDENTS, topics.ANOMALIES, bootstrap_servers=self.bootstrap,
                                    group_id=None, auto_offset_reset="earliest", fetch_max_wait_ms=20)
        await consumer.start()
        try:
            while True:
                for msgs in (await consumer.getmany(timeout_ms=200)).values():
                    async with self._changed:
                        for m in msgs:
                            self._take(m.topic, m.value)
                        self._changed.notify_all()
        finally:
            await consumer.stop()

    def _take(self, topic: str, value: bytes) -> None:
        if topic == topics.INCIDENTS:
            self.seen.append(Incident.decode(value))
        elif b'"tick_closed"' in value:
            mark = TickMark.decode(value)
            p = mark.source_partition or 0
            self.marks[p] = max(mark.tick_closed, self.marks.get(p, -1))

    def detected(self, partitions: int) -> int:
        """The last tick whose marks detect has forwarded from every telemetry partition."""
        return min(self.marks.values()) if len(self.marks) == partitions else -1

    async def until(self, what, timeout: float):
        async with asyncio.timeout(timeout), self._changed:
            while not (found := what(self.seen)):
                await self._changed.wait()
        return found

    def ids_by_root(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for inc in self.seen:
            out.setdefault(inc.candidates[0].entity_id, set()).add(inc.incident_id)
        return out


def _mitigating(seen: list[Incident]) -> Incident | None:
    return next((i for i in seen if i.status is IncidentStatus.MITIGATING), None)


def _resolved_roots(seen: list[Incident]) -> set[str] | None:
    roots = {i.candidates[0].entity_id for i in seen if i.status is IncidentStatus.RESOLVED}
    return roots if roots >= ROOTS else None


@pytest.mark.timeout(300)  # a worker process, a kill, a session timeout, a replay: slow when loaded
def test_a_killed_worker_is_replaced_without_losing_an_incident_or_acting_twice(kafka, monkeypatch):
    settings = Settings(broker=kafka.url, partitions=2, fetch_max_wait_ms=20,
                        mcp_url=f"http://127.0.0.1:{_free_port()}/mcp")
    for t in topics.ALL_TOPICS:
        kafka.create_topic(t, partitions_of(t, settings))
    group = {"BROKER_SESSION_TIMEOUT": "6", "BROKER_HEARTBEAT_INTERVAL": "1",
             "BROKER_MAX_POLL_INTERVAL": "10"}
    for name, value in group.items():  # faust reads them, in the worker process and in this one
        monkeypatch.setenv(name, value)
    env = {**os.environ, "NETLOOP_BROKER": kafka.url, "NETLOOP_PARTITIONS": "2",
           "NETLOOP_FETCH_MAX_WAIT_MS": "20", "NETLOOP_MCP_URL": settings.mcp_url}
    emulator = Emulator(load_scenario("smoke").idealized(), settings, speed=25.0, audit=AuditLog())
    held, verified, resumed = [False], [-1], [-1]

    def closed(stage: str, tick: int) -> None:
        if stage == "verify":
            verified[0] = tick

    async def go():
        incidents = _Loop(kafka.bootstrap)

        def progress() -> int:  # the emulator stays 3 ticks ahead of the loop; while held, it waits
            if held[0]:
                return emulator.network.tick - 10
            if restarted is not None:
                return max(verified[0], resumed[0])
            return min(incidents.detected(settings.partitions), UNSEEN_UNTIL - MAX_LAG)
        restarted, caller = None, HttpToolCaller(settings.mcp_url)
        following = asyncio.create_task(incidents.follow())
        tools = asyncio.create_task(emulator.serve_tools())
        await asyncio.wait_for(emulator.tools_ready.wait(), 30)
        worker = _spawn(["worker", "--no-create-topics"], env)
        publishing = asyncio.create_task(emulator.publish(progress=progress))
        try:
            first = await incidents.until(  # the first on a fault's root (noise may open one before it)
                lambda seen: next((i for i in seen if i.candidates[0].entity_id in ROOTS), None), 60)
            held[0] = True
            mitigating = await incidents.until(_mitigating, 30)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            resumed[0] = emulator.network.tick - 1  # the last tick published, before the hold
            before = {i.incident_id: i.status for i in incidents.seen}
            restarted = create_app(settings, executor=Executor(caller=caller), metrics=LoopMetrics(),
                                   hooks=KafkaHooks(on_tick_closed=closed))
            await restarted.start()
            held[0] = False
            await publishing
            await incidents.until(_resolved_roots, 30)
        except TimeoutError:
            print([(i.incident_id, i.status.value, i.tick) for i in incidents.seen])
            raise
        finally:
            if restarted is not None:
                await restarted.stop()
            await caller.close()
            errors = _stop(worker)
            print(errors[-5000:])
            emulator.stop_tools()
            following.cancel()
            await asyncio.gather(tools, following, publishing, return_exceptions=True)
        return first, mitigating, before, incidents, errors

    first, mitigating, before, incidents, errors = asyncio.run(go())
    assert first.candidates[0].entity_id == mitigating.candidates[0].entity_id == "link-0003"
    assert before[mitigating.incident_id] is not IncidentStatus.RESOLVED  # the kill came before it resolved
    # the same incident went on after the restart: one id per fault, no duplicates
    by_root = incidents.ids_by_root()
    assert set(by_root) >= ROOTS, by_root  # and noise incidents, which no action touches (below)
    assert all(len(by_root[r]) == 1 for r in ROOTS), (by_root, errors[-2000:])
    assert by_root["link-0003"] == {mitigating.incident_id}
    # each fault was cleared by one remediation call, each action id executed once
    assert all(f.ended_by == "action" for f in emulator.network.truth), emulator.network.truth
    calls = emulator.network.actions
    assert sorted(target for _, _, target, _ in calls) == sorted(ROOTS), calls
    executed = [r.action_id for r in emulator.audit if r.action_id and r.outcome == "ok"
                and "#rollback" not in r.action_id]  # a workaround's revert is not a remedy
    assert len(executed) == len(set(executed)) == 3, list(emulator.audit)
