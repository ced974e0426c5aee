"""Record and replay over the Kafka wire protocol, against a broker the test starts itself."""

import asyncio
import io
import subprocess
import sys

import pytest

from streams.recording.files import Recorded
from streams.recording.kafka import BrokerError, bootstrap_servers, record_from_kafka, replay_to_kafka


def test_a_recording_replayed_into_kafka_is_recorded_back_identically(kafka):
    kafka.create_topic("netloop.telemetry", partitions=3)
    kafka.create_topic("netloop.topology", partitions=1)
    sent = [Recorded("netloop.topology", "cell-0001-1", 0, b'{"entity_id": "cell-0001-1"}')]
    sent += [Recorded("netloop.telemetry", f"sites-{i % 3}", 1000 * i, b'{"tick": %d}' % i)
             for i in range(30)]

    async def go():
        n = await replay_to_kafka(kafka.url, sent, speed=None)
        out = io.StringIO()
        got = await record_from_kafka(kafka.url, ["netloop.telemetry", "netloop.topology"], out,
                                      from_beginning=True, max_records=len(sent), idle_seconds=10)
        return n, got, out.getvalue()

    n, got, text = asyncio.run(go())
    assert n == got == len(sent)
    back = [Recorded.from_line(line) for line in text.splitlines()]
    as_set = {(r.topic, r.key, r.value) for r in back}
    assert as_set == {(r.topic, r.key, r.value) for r in sent}
    # one key stays on one partition, so per-key order survives the round trip
    per_key = [r.value for r in back if r.key == "sites-1"]
    assert per_key == [r.value for r in sent if r.key == "sites-1"]


def test_replay_refuses_a_bad_broker_before_sending_anything():
    sent = [Recorded("t", None, 0, b"a")]
    with pytest.raises(BrokerError):
        asyncio.run(replay_to_kafka("nonsense", sent, speed=1.0))


@pytest.mark.parametrize("broker", ["localhost", "http://x:1", ""])
def test_a_broker_that_is_not_kafka_host_port_is_refused(broker):
    with pytest.raises(BrokerError, match="kafka://HOST:PORT"):
        bootstrap_servers(broker)


def test_the_record_command_reports_a_bad_broker_with_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "-c", "from streams.cli import main; main()", "record",
                           "--broker", "nohost", "--topic", "t", "--out", str(tmp_path / "o.jsonl")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "kafka://HOST:PORT" in done.stderr
    assert "Traceback" not in done.stderr
