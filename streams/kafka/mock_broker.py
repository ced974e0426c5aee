"""A Kafka-protocol broker for tests and benches: librdkafka's mock cluster, via confluent-kafka.

The Python binding does not expose the mock cluster API, so this calls the
librdkafka that confluent-kafka bundles through ctypes. The brokers listen on
loopback TCP ports and speak the Kafka wire protocol; aiokafka and faust
connect to them like to any broker.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager


def _librdkafka() -> ctypes.CDLL:
    try:
        import confluent_kafka  # a dev dependency: tests and benches only
    except ImportError:
        raise RuntimeError("the mock broker needs confluent-kafka (pip install -e '.[dev]')") from None
    libs = os.path.join(os.path.dirname(confluent_kafka.__file__), os.pardir, "confluent_kafka.libs")
    [path] = glob.glob(os.path.join(libs, "librdkafka*.so*"))
    lib = ctypes.CDLL(path)
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                      ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
    lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                               ctypes.c_int]
    return lib


class MockCluster:
    """A running mock cluster: ``bootstrap`` is ``host:port``; topics are created on request."""

    def __init__(self, lib: ctypes.CDLL, handle: int, cluster: int) -> None:
        self._lib, self._handle, self._cluster = lib, handle, cluster
        self.bootstrap = lib.rd_kafka_mock_cluster_bootstraps(cluster).decode()

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def create_topic(self, name: str, partitions: int = 1) -> None:
        err = self._lib.rd_kafka_mock_topic_create(self._cluster, name.encode(), partitions, 1)
        if err:
            raise RuntimeError(f"mock cluster refused topic {name!r}: error {err}")


@contextmanager
def mock_cluster(brokers: int = 1) -> Iterator[MockCluster]:
    """Start a mock cluster for the duration of the block."""
    lib = _librdkafka()
    conf = lib.rd_kafka_conf_new()
    errstr = ctypes.create_string_buffer(512)
    # a placeholder bootstrap keeps librdkafka from warning that it has none
    lib.rd_kafka_conf_set(conf, b"bootstrap.servers", b"127.0.0.1:1", errstr, 512)
    lib.rd_kafka_conf_set(conf, b"log_level", b"0", errstr, 512)
    handle = lib.rd_kafka_new(0, conf, errstr, 512)  # RD_KAFKA_PRODUCER
    if not handle:
        raise RuntimeError(f"librdkafka: {errstr.value.decode()}")
    cluster = lib.rd_kafka_mock_cluster_new(handle, brokers)
    try:
        yield MockCluster(lib, handle, cluster)
    finally:
        lib.rd_kafka_mock_cluster_destroy(cluster)
        lib.rd_kafka_destroy(handle)
