"""Records on the bus: versioned, strict when produced, tolerant when consumed."""

import pytest
from pydantic import ValidationError

from schemas import (
    SCHEMA_VERSION,
    AnomalyEvent,
    DeadLetter,
    EntityKind,
    TelemetryFrame,
    kind_of,
    kpi_names,
)


def _anomaly(**extra):
    return dict(entity_id="cell-0001-1", kpi="cqi", tick=5, value=3.0, expected=11.0, score=9.5,
                detector="holt", **extra)


def test_every_record_carries_the_schema_version():
    assert AnomalyEvent(**_anomaly()).schema_version == SCHEMA_VERSION


def test_a_produced_record_refuses_unknown_fields():
    with pytest.raises(ValidationError, match="colour"):
        AnomalyEvent(**_anomaly(colour="red"))


def test_a_consumed_record_tolerates_fields_from_a_newer_producer():
    raw = AnomalyEvent(**_anomaly()).encode().replace(b"{", b'{"added_in_v2": 1,', 1)
    assert AnomalyEvent.decode(raw).kpi == "cqi"


def test_a_frame_whose_rows_do_not_match_its_columns_is_refused():
    with pytest.raises(ValidationError, match="row 1 has 1 columns for 2 kpis"):
        TelemetryFrame(shard="s", tick=0, timestamp_s=0, kind="link", entity_ids=["a", "b"],
                       kpis=["x", "y"], values=[[1.0, 2.0], [3.0]])


def test_a_dead_letter_keeps_the_exact_bytes_it_received():
    raw = b"\xff\x00not json"
    letter = DeadLetter.of(raw, source_topic="t", stage="detect", reason="not JSON")
    assert DeadLetter.decode(letter.encode()).raw == raw


def test_entity_kinds_come_from_id_prefixes_and_have_kpi_columns():
    assert kind_of("upf-2") is EntityKind.UPF
    assert "latency_ms" in kpi_names(EntityKind.CELL)
