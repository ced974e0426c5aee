"""Shared fixtures: a Kafka-protocol broker started by the tests themselves, and a state
directory of each test's own, so no test writes a running loop's files into the user's home."""

import pytest

from streams.kafka.mock_broker import mock_cluster


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path_factory, monkeypatch):
    """``NETLOOP_STATE_DIR`` (control.json, audit.jsonl) in a fresh folder, for this process and
    the processes a test starts."""
    monkeypatch.setenv("NETLOOP_STATE_DIR", str(tmp_path_factory.mktemp("netloop-state")))


@pytest.fixture
def kafka():
    """A fresh librdkafka mock cluster (one broker on loopback) for one test."""
    with mock_cluster() as cluster:
        yield cluster
