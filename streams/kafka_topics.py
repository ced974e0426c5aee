"""The topic catalogue on a Kafka cluster: partitions, compaction, creation."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas import topics
from streams.kafka_io import bootstrap_servers
from streams.settings import Settings


def partitions_of(topic: str, settings: Settings) -> int:
    """Telemetry is spread over ``settings.partitions`` so detect scales out; every topic after
    detect has one partition, because localization needs the anomalies of the whole topology."""
    return settings.partitions if topic == topics.TELEMETRY else 1


def topic_configs(topic: str) -> dict[str, str]:
    return {"cleanup.policy": "compact"} if topic in topics.COMPACTED_TOPICS else {}


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the catalogue's topics that the cluster does not have yet; return those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(settings.broker))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics.ALL_TOPICS if t not in existing]
        if missing:
            await admin.create_topics([
                NewTopic(t, num_partitions=partitions_of(t, settings), replication_factor=1,
                         topic_configs=topic_configs(t)) for t in missing])
        return missing
    finally:
        await admin.close()
