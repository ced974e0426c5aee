"""Fuzzing the scenario and policy loaders: any YAML either loads (and a scenario then builds its
network) or is refused with the loader's error naming the field — never another exception.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from actuators import PolicyError, PolicyTable
from actuators.catalogue import check_policies
from simulator import Network, ScenarioError, parse_scenario
from streams.tools.catalogue import policy_catalogue
from tests.test_fuzz_records import JSON

pytestmark = pytest.mark.fuzz

SCENARIO = {"name": "x", "seed": 3, "ticks": 200, "tick_seconds": 60, "warmup_ticks": 20,
            "topology": {"sites": 2, "cells_per_site": 1, "upf": 1, "smf": 1, "amf": 1},
            "faults": [{"type": "link_down", "target": "link-0001", "at": 50, "duration": 20}],
            "random_faults": {"count": 2, "min_gap": 10, "duration": [5, 20]}}
POLICY = {"rules": [{"fault_type": "cell_outage", "tool": "restart_cell", "target_argument": "cell_id",
                     "priority": 5}],
          "workflows": {"w": {"steps": [{"call": "set_antenna_tilt", "target_argument": "cell_id",
                                         "arguments": {"tilt_deg": 4}}, {"wait": 2}]}}}
YAML_LEAVES = JSON | st.sampled_from([float("inf"), float("nan"), -1, 10**12, 2**70, True, "link-0099"])
CATALOGUE = policy_catalogue()


def _set(body: dict, path: list[Any], value: Any) -> dict:
    """``body`` with the value at ``path`` (keys or indexes, as far as they go) set to ``value``."""
    node = body
    for key in path[:-1]:
        nxt = node[key] if isinstance(node, dict) and key in node else None
        if not isinstance(nxt, dict | list):
            break
        node = nxt
    if isinstance(node, dict):
        node[path[-1]] = value
    elif isinstance(node, list) and node:
        node[0] = value
    return body


def _paths(body: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(body, dict):
        for k, v in body.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(body, list):
        for i, v in enumerate(body):
            found += _paths(v, (*prefix, i))
    return found


def _mutated(base: dict, data: st.DataObject) -> str:
    body = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(body) or [("x",)]))
        body = _set(body, list(path), data.draw(YAML_LEAVES))
    return yaml.safe_dump(body)


@given(data=st.data())
def test_any_scenario_either_runs_or_is_refused_naming_a_field(data: st.DataObject) -> None:
    text = _mutated(SCENARIO, data)
    try:
        scenario = parse_scenario(text, "s.yaml")
        if scenario.topology.sites * scenario.topology.cells_per_site <= 200:
            Network.from_scenario(scenario).step()  # a target the topology lacks is refused here
    except ScenarioError as exc:
        assert str(exc).strip() and "Traceback" not in str(exc)


@given(text=st.text(max_size=200))
def test_any_text_as_a_scenario_is_refused_or_loads(text: str) -> None:
    with contextlib.suppress(ScenarioError):
        parse_scenario(text, "s.yaml")


@given(data=st.data())
def test_any_policy_either_loads_and_passes_the_catalogue_or_is_refused_naming_a_field(data) -> None:
    text = _mutated(POLICY, data)
    try:
        table = PolicyTable.default().over(PolicyTable.parse(text, "p.yaml"))
        check_policies(table, CATALOGUE, "p.yaml")
    except PolicyError as exc:
        assert str(exc).startswith("p.yaml") and ": " in str(exc)
