"""Shared fixtures: a Kafka-protocol broker started by the tests themselves."""

import pytest

from streams.mock_broker import mock_cluster


@pytest.fixture
def kafka():
    """A fresh librdkafka mock cluster (one broker on loopback) for one test."""
    with mock_cluster() as cluster:
        yield cluster
