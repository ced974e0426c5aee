"""Published JSON Schemas: one per topic, and records on the bus validate against them."""

import json

import jsonschema

from schemas import AnomalyEvent, TelemetryFrame, export_schemas, kpi_names, topics


def test_every_topic_gets_a_schema_file(tmp_path):
    written = export_schemas(tmp_path)
    assert {p.name for p in written} == {f"{t}.schema.json" for t in topics.ALL_TOPICS}


def test_records_validate_against_their_topic_schema_and_bad_ones_do_not(tmp_path):
    export_schemas(tmp_path)
    telemetry = json.loads((tmp_path / f"{topics.TELEMETRY}.schema.json").read_text())
    frame = TelemetryFrame(shard="s", tick=1, timestamp_s=60.0, kind="link",
                           entity_ids=["link-0001"], kpis=list(kpi_names("link")),
                           values=[[0.5, 2.0, 0.001]])
    jsonschema.validate(json.loads(frame.encode()), telemetry)
    anomalies = json.loads((tmp_path / f"{topics.ANOMALIES}.schema.json").read_text())
    event = json.loads(AnomalyEvent(entity_id="cell-0001-1", kpi="cqi", tick=3, value=2.0,
                                    expected=11.0, score=9.0, detector="holt").encode())
    jsonschema.validate(event, anomalies)
    event["score"] = "high"
    try:
        jsonschema.validate(event, anomalies)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("a string score validated")
