"""Shared fixtures: a Kafka-protocol broker started by the tests themselves, and a state
directory of each test's own, so no test writes a running loop's files into the user's home."""

import os

import pytest
from hypothesis import HealthCheck, settings

from streams.kafka.mock_broker import mock_cluster

# Property-based fuzzing: a few dozen examples per property in `make test`, many more in `make fuzz`.
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("NETLOOP_HYPOTHESIS_PROFILE", "ci"))


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
