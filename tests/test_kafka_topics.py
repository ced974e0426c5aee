"""``netloop topics create``: the catalogue's topics on a cluster, or a clear reason why not."""

from typer.testing import CliRunner

from schemas import topics
from streams.cli import app
from streams.kafka.topics import partitions_of
from streams.settings import Settings


def _topics_create(broker: str, **env: str):
    return CliRunner().invoke(app, ["topics", "create", "--broker", broker], env=env)


def test_topics_create_exits_2_naming_the_broker_when_none_answers():
    done = _topics_create("kafka://127.0.0.1:1")
    assert done.exit_code == 2
    assert "no Kafka broker answers at kafka://127.0.0.1:1" in done.output
    assert "Traceback" not in done.output


def test_topics_create_refuses_a_broker_that_is_not_kafka_host_port():
    done = _topics_create("http://example.org")
    assert done.exit_code == 2 and "kafka://HOST:PORT" in done.output


def test_topics_create_leaves_a_complete_catalogue_alone(kafka):
    for t in topics.ALL_TOPICS:
        kafka.create_topic(t, partitions_of(t, Settings()))
    done = _topics_create(kafka.url)
    assert done.exit_code == 0, done.output
    assert f"all {len(topics.ALL_TOPICS)} topics of the catalogue exist" in done.output


def test_topics_create_lists_what_to_create_by_hand_when_the_cluster_cannot(kafka):
    done = _topics_create(kafka.url, NETLOOP_PARTITIONS="6")  # the mock cluster has no CreateTopics
    assert done.exit_code == 2
    assert "netloop.telemetry (6 partitions)" in done.output
