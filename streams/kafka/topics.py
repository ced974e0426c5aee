"""The topic catalogue on a Kafka cluster: partitions, compaction, creation."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from schemas import topics
from streams.recording.kafka import bootstrap_servers
from streams.settings import Settings


def partitions_of(topic: str, settings: Settings) -> int:
    """Telemetry is spread over ``settings.partitions`` so detect scales out; every topic after
    detect has one partition, because localization needs the anomalies of the whole topology."""
    return settings.partitions if topic == topics.TELEMETRY else 1


def topic_configs(topic: str) -> dict[str, str]:
    return {"cleanup.policy": "compact"} if topic in topics.COMPACTED_TOPICS else {}


class TopicError(RuntimeError):
    """The catalogue's topics could not be created; the message says how to create them."""


def describe(topic_names: list[str], settings: Settings) -> str:
    """``name (N partitions[, compacted])`` for each topic, for messages and docs."""
    def one(t: str) -> str:
        n = partitions_of(t, settings)
        compacted = ", compacted" if topic_configs(t) else ""
        return f"{t} ({n} partition{'s' if n > 1 else ''}{compacted})"

    return ", ".join(one(t) for t in topic_names)


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the catalogue's topics that the cluster does not have yet; return those created.

    Raises
    ------
    TopicError
        When the cluster cannot create them (no controller in its metadata, as
        with librdkafka's mock cluster, or no permission).
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(settings.broker))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics.ALL_TOPICS if t not in existing]
        if missing:
            await _create(admin, missing, settings)
        return missing
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, missing: list[str], settings: Settings) -> None:
    try:
        await admin.create_topics([
            NewTopic(t, num_partitions=partitions_of(t, settings), replication_factor=1,
                     topic_configs=topic_configs(t)) for t in missing])
    except (AttributeError, KafkaError) as exc:  # aiokafka: AttributeError when no controller
        raise TopicError(f"could not create topics on {settings.broker} ({type(exc).__name__}); "
                         f"create them yourself: {describe(missing, settings)}") from None
