"""The netloop command line, as a user runs it: exit codes, messages, JSON reports."""

import json
import subprocess
import sys

import pytest

REPORT_FIELDS = {
    "scenario", "seed", "ticks", "entities", "faults_injected", "faults_detected",
    "faults_localized_top1", "faults_localized_top3", "fault_type_correct", "faults_auto_remediated",
    "faults_escalated", "incidents_opened", "false_incidents", "actions_executed", "false_actions",
    "mttd_ticks", "mttr_ticks", "mttr_ticks_without_loop", "wall_seconds", "entity_reports_per_second",
    "benign_events", "actions_on_benign", "faults_unfixable", "faults_escalated_correctly",
    "twin_predictions", "twin_correct",
}


def netloop(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from streams.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("body", "field"), [
    ("name: x\nticks: 10\ntopology: {sites: 0, cells_per_site: 1, upf: 1, smf: 1, amf: 1}\n",
     "topology.sites"),
    ("name: x\nticks: 100\nwarmup_ticks: 5\ntopology: {sites: 2, cells_per_site: 1, upf: 1, smf: 1, "
     "amf: 1}\nfaults: [{type: meteor_strike, at: 10}]\n", "meteor_strike"),
    ("name: x\nticks: 100\nwarmup_ticks: 5\ntopology: {sites: 2, cells_per_site: 1, upf: 1, smf: 1, "
     "amf: 1}\nfaults: [{type: link_down, target: link-0009, at: 10}]\n", "faults.0.target"),
    ("name: x\nticks: 100\ntopology: {sites: 2, cells_per_site: 1, upf: 1, smf: 1, amf: 1}\n"
     "colour: red\n", "colour"),
    ("name: [unclosed\n", "not valid YAML"),
])
def test_a_bad_scenario_file_exits_2_naming_the_field_without_a_traceback(tmp_path, body, field):
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    done = netloop("run", "--scenario", str(path), "--fast", "--json", "-")
    assert done.returncode == 2
    assert field in done.stderr
    assert str(path) in done.stderr or "faults.0.target" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_an_unknown_scenario_name_lists_the_built_in_ones():
    done = netloop("run", "--scenario", "nope", "--fast")
    assert done.returncode == 2
    assert "smoke" in done.stderr and "Traceback" not in done.stderr


def test_run_prints_the_json_report_with_the_documented_fields():
    done = netloop("run", "--scenario", "smoke", "--fast", "--json", "-")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) >= REPORT_FIELDS
    assert report["faults_detected"] == report["faults_injected"] >= 3  # a fixed fault may come back


def test_evaluate_prints_a_list_of_reports_and_a_table(tmp_path):
    out = tmp_path / "reports.json"
    done = netloop("evaluate", "smoke", "--json", str(out))
    assert done.returncode == 0, done.stderr
    [report] = json.loads(out.read_text())
    assert set(report) >= REPORT_FIELDS and report["scenario"] == "smoke"
    assert "auto-remediated" in done.stdout


def test_a_bad_policy_file_exits_2_naming_the_field(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  - {fault_type: cell_outage, target_argument: cell_id}\n")
    done = netloop("run", "--scenario", "smoke", "--fast", "--ticks", "5", "--policies", str(path))
    assert done.returncode == 2
    assert "rules.0" in done.stderr and "give either tool" in done.stderr
    assert "Traceback" not in done.stderr
