"""The embedded bus: fan-out, publish order, and backpressure from bounded inboxes."""

import asyncio

from schemas import topics
from streams.runtime.bus import EmbeddedBus


def test_publish_waits_while_an_inbox_is_full_and_resumes_when_it_is_consumed():
    async def scenario():
        bus = EmbeddedBus(maxsize=2)
        inbox = bus.subscribe("slow", (topics.TELEMETRY,))
        await bus.publish(topics.TELEMETRY, "k", b"1")
        await bus.publish(topics.TELEMETRY, "k", b"2")
        third = asyncio.create_task(bus.publish(topics.TELEMETRY, "k", b"3"))
        await asyncio.sleep(0)  # let the publisher run until it blocks
        assert not third.done()
        assert inbox.qsize() == 2
        first = inbox.get_nowait()
        bus.done()
        await asyncio.wait_for(third, timeout=5)
        assert first.value == b"1"
        assert [inbox.get_nowait().value for _ in range(2)] == [b"2", b"3"]

    asyncio.run(scenario())


def test_a_stage_sees_records_of_all_its_topics_in_publish_order():
    async def scenario():
        bus = EmbeddedBus()
        inbox = bus.subscribe("verify", (topics.INCIDENTS, topics.ANOMALIES))
        other = bus.subscribe("decide", (topics.INCIDENTS,))
        await bus.publish(topics.ANOMALIES, "a", b"a1")
        await bus.publish(topics.INCIDENTS, "i", b"i1")
        await bus.publish(topics.ACTIONS, "x", b"nobody")
        seen = [inbox.get_nowait() for _ in range(inbox.qsize())]
        assert [(m.topic, m.value) for m in seen] == [(topics.ANOMALIES, b"a1"), (topics.INCIDENTS, b"i1")]
        assert other.qsize() == 1
        assert seen[1].offset == 0  # offsets count per topic

    asyncio.run(scenario())


def test_drain_returns_once_every_record_taken_has_been_handled():
    async def scenario():
        bus = EmbeddedBus()
        inbox = bus.subscribe("stage", (topics.ANOMALIES,))
        handled = []

        async def consume():
            while True:
                msg = await inbox.get()
                await asyncio.sleep(0)
                handled.append(msg.value)
                bus.done()

        task = asyncio.create_task(consume())
        for i in range(20):
            await bus.publish(topics.ANOMALIES, None, str(i).encode())
        await asyncio.wait_for(bus.drain(), timeout=5)
        assert len(handled) == 20
        task.cancel()

    asyncio.run(scenario())
