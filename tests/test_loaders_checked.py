"""Policies and scenarios are checked when they are loaded: against the tool catalogue (which tools
exist, which entity kind each acts on, their parameters and ranges) and the fault catalogue (which
fault types exist, the kind of their root). A bad file exits 2 naming the field, with no traceback.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from actuators import PolicyError
from simulator import ScenarioError, parse_scenario
from streams.runtime.embedded import load_policies
from streams.settings import Settings


def netloop(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from streams.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120)


BAD_POLICIES = [
    ("rules:\n  - {fault_type: cell_outage, tool: restart_amf, target_argument: amf_id}\n",
     "restart_amf acts on amf, but the root of a cell_outage is a cell"),
    ("rules:\n  - {fault_type: cell_outage, tool: reboot_everything, target_argument: cell_id}\n",
     "unknown tool 'reboot_everything'"),
    ("rules:\n  - {fault_type: meteor_strike, tool: restart_cell, target_argument: cell_id}\n",
     "unknown fault type 'meteor_strike'"),
    ("rules:\n  - {fault_type: antenna_misconfig, tool: set_antenna_tilt, target_argument: cell_id,\n"
     "     arguments: {tilt_deg: 40}}\n", "arguments.tilt_deg: 40 is outside [0, 15]"),
    ("rules:\n  - {fault_type: antenna_misconfig, tool: set_antenna_tilt, target_argument: cell,\n"
     "     arguments: {tilt_deg: 4}}\n", "target_argument: set_antenna_tilt has no parameter 'cell'"),
    ("rules:\n  - {fault_type: link_down, entity_kind: cell, tool: restart_cell, target_argument: cell_id}\n",
     "entity_kind: cell is not the root of a link_down"),
    ("rules:\n  - {fault_type: cell_outage, workflow: w}\nworkflows:\n  w:\n    steps:\n"
     "      - {call: restart_cell, target_argument: cell_id}\n"
     "      - {call: restart_smf, target_argument: smf_id}\n",
     "steps.1.call: restart_smf acts on smf"),
]


@pytest.mark.parametrize("body, reason", BAD_POLICIES, ids=["wrong-kind", "unknown-tool", "unknown-fault",
                                                            "out-of-range", "no-such-parameter",
                                                            "wrong-entity-kind", "workflow-wrong-kind"])
def test_a_policy_that_cannot_work_is_refused_at_load_naming_the_field(tmp_path, body: str,
                                                                      reason: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(body)
    with pytest.raises(PolicyError) as exc:
        load_policies(Settings(policies=path))
    assert reason in str(exc.value) and "p.yaml" in str(exc.value)


def test_the_built_in_policies_pass_the_checks() -> None:
    assert len(load_policies(Settings()).rules) == 10


def test_a_policy_with_a_tool_of_the_wrong_kind_exits_2_from_the_command_line(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BAD_POLICIES[0][0])
    done = netloop("run", "--scenario", "smoke", "--fast", "--ticks", "5", "--policies", str(path))
    assert done.returncode == 2 and "restart_amf acts on amf" in done.stderr
    assert "Traceback" not in done.stderr


_TOPO = "topology: {sites: 2, cells_per_site: 1, upf: 1, smf: 1, amf: 1}\n"


@pytest.mark.parametrize("body, field", [
    ("name: x\nseed: -1\nticks: 100\nwarmup_ticks: 5\n" + _TOPO, "seed"),
    ("name: x\nticks: 100\nwarmup_ticks: 5\ntick_seconds: .inf\n" + _TOPO, "tick_seconds"),
    ("name: x\nticks: 100\nwarmup_ticks: 5\ntick_seconds: .nan\n" + _TOPO, "tick_seconds"),
    ("name: x\nticks: 100\nwarmup_ticks: 500\n" + _TOPO, "warmup_ticks"),
    ("name: x\nticks: 1000000000000\nwarmup_ticks: 5\n" + _TOPO, "ticks"),
    ("name: x\nticks: 100\nwarmup_ticks: 5\nrandom_faults: {count: 1000000000}\n" + _TOPO,
     "random_faults.count"),
    ("name: x\nticks: true\nwarmup_ticks: 5\n" + _TOPO, "ticks"),
], ids=["negative-seed", "infinite-tick", "nan-tick", "warmup-past-the-end", "trillion-ticks",
        "billion-random-faults", "boolean-ticks"])
def test_a_scenario_that_cannot_run_is_refused_naming_the_field(body: str, field: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(body, "s.yaml")
    assert f"s.yaml: {field}" in str(exc.value)
