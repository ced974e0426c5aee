"""Scenario files: validation with errors that name the field, the built-in suite, random fault plans."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from schemas import EntityKind
from simulator import (
    FAULT_TYPES,
    Network,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)
from simulator.traffic import daily_load
from tests.test_simulator import SMALL

# A small topology: upf-2 serves sites 2 and 4, smf-1 sites 1 and 3, amf-2 sites 2 and 4.
# --- scenario validation -----------------------------------------------------------------------


def scenario_error(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        Network.from_scenario(parse_scenario(text, "bad.yaml"))
    return str(info.value)


def test_an_unknown_fault_type_is_refused_naming_the_type():
    message = scenario_error(SMALL + "faults: [{type: meteor_strike, at: 10}]")
    assert "faults.0" in message and "meteor_strike" in message


def test_a_negative_site_count_is_refused_naming_the_field():
    message = scenario_error(SMALL.replace("sites: 4", "sites: -1"))
    assert "topology.sites" in message
    assert message.startswith("bad.yaml")


def test_an_unknown_field_is_refused_naming_it():
    message = scenario_error(SMALL + "colour: blue")
    assert "colour" in message


def test_a_fault_inside_the_warmup_is_refused_naming_its_start():
    message = scenario_error(SMALL + "faults: [{type: cell_outage, at: 3}]")
    assert "faults.0.at" in message


def test_a_fault_after_the_end_of_the_run_is_refused_naming_its_start():
    message = scenario_error(SMALL + "faults: [{type: cell_outage, at: 60}]")
    assert "faults.0.at" in message


def test_a_target_that_does_not_exist_is_refused_when_the_network_is_built():
    scenario = parse_scenario(SMALL + "faults: [{type: cell_outage, target: cell-0009-1, at: 10}]")
    with pytest.raises(ScenarioError, match=r"faults\.0\.target.*cell-0009-1"):
        Network.from_scenario(scenario)


def test_a_target_of_the_wrong_kind_is_refused_naming_the_needed_kind():
    message = scenario_error(SMALL + "faults: [{type: interference, target: link-0001, at: 10}]")
    assert "faults.0.target" in message and "cell" in message


def test_text_that_is_not_yaml_is_refused():
    with pytest.raises(ScenarioError, match="not valid YAML"):
        parse_scenario("name: [unclosed", "bad.yaml")


def test_yaml_that_is_not_a_mapping_is_refused():
    with pytest.raises(ScenarioError, match="mapping"):
        parse_scenario("- just\n- a list\n")


def test_a_missing_scenario_file_is_refused_naming_the_path(tmp_path):
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ScenarioError, match="nowhere.yaml"):
        load_scenario(str(missing))


def test_an_unknown_scenario_name_is_refused_listing_the_built_in_ones():
    with pytest.raises(ScenarioError, match="smoke"):
        load_scenario("no-such-scenario")


def test_a_scenario_file_on_disk_loads(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(SMALL)
    assert load_scenario(str(path)).name == "small"


def test_random_faults_that_do_not_fit_are_refused_naming_random_faults():
    # 55 ticks after warm-up, 5 faults: slots of 11 ticks cannot keep 20 ticks apart
    message = scenario_error(SMALL + "random_faults: {count: 5, min_gap: 20}")
    assert "random_faults" in message


@pytest.mark.parametrize("name", builtin_scenarios())
def test_every_built_in_scenario_loads_and_builds(name):
    scenario = load_scenario(name)
    assert scenario.name == name
    Network.from_scenario(scenario)


def test_the_built_in_scenarios_include_the_documented_ones():
    assert {"demo", "overlap", "random", "smoke"} <= set(builtin_scenarios())


def planned_suite() -> dict[str, tuple[Network, list]]:
    """Every built-in scenario with its network and resolved faults."""
    out = {}
    for name in builtin_scenarios():
        net = Network.from_scenario(load_scenario(name))
        out[name] = (net, net.plan)
    return out


def test_the_built_in_suite_has_ten_scenarios_and_covers_every_fault_type():
    suite = planned_suite()
    assert len(suite) >= 10
    assert {p.type for _, plan in suite.values() for p in plan} == set(FAULT_TYPES)


def test_the_built_in_suite_ranges_from_tens_to_thousands_of_cells():
    cells = sorted(len(net.topology.ids[EntityKind.CELL]) for net, _ in planned_suite().values())
    assert cells[0] < 100 and cells[-1] >= 1000


def test_the_built_in_suite_has_quiet_runs_overlapping_faults_and_faults_in_the_busy_hour():
    suite = planned_suite()
    assert [name for name, (_, plan) in suite.items() if not plan]

    def overlapping(plan) -> bool:
        return any(b.at < a.at + (a.duration or 10**9) for a, b in pairwise(plan))

    assert [name for name, (_, plan) in suite.items() if overlapping(plan)]
    busy = [p for net, plan in suite.values() for p in plan
            if daily_load(p.at * net.scenario.tick_seconds) > 0.95]
    assert {p.type for p in busy} == set(FAULT_TYPES)


# --- random faults ------------------------------------------------------------------------------

RANDOM = SMALL.replace("ticks: 60", "ticks: 400") + "random_faults: {count: 6, min_gap: 30}"


def test_random_faults_plan_the_requested_count():
    assert len(Network.from_scenario(parse_scenario(RANDOM)).plan) == 6


def test_random_faults_start_after_the_warmup_and_before_the_end():
    scenario = parse_scenario(RANDOM)
    starts = [p.at for p in Network.from_scenario(scenario).plan]
    assert all(scenario.warmup_ticks <= at < scenario.ticks for at in starts)


def test_random_faults_start_at_least_min_gap_apart():
    for seed in range(20):
        plan = Network.from_scenario(
            parse_scenario(RANDOM.replace("seed: 3", f"seed: {seed}"))
        ).plan
        starts = [p.at for p in plan]
        assert all(b - a >= 30 for a, b in pairwise(starts)), (seed, starts)


def test_random_faults_target_an_entity_of_their_root_kind():
    net = Network.from_scenario(parse_scenario(RANDOM))
    for p in net.plan:
        kind, _ = net.topology.index(p.target)
        assert kind is FAULT_TYPES[p.type].root_kind


def test_random_faults_are_reproducible_from_the_seed():
    a = Network.from_scenario(parse_scenario(RANDOM)).plan
    b = Network.from_scenario(parse_scenario(RANDOM)).plan
    c = Network.from_scenario(parse_scenario(RANDOM.replace("seed: 3", "seed: 4"))).plan
    assert a == b
    assert a != c


@pytest.mark.parametrize("path", sorted((Path(__file__).parent / "data" / "heldout").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_the_held_out_scenarios_load_with_realistic_defaults_and_faults_to_score(path):
    sc = load_scenario(str(path))
    assert sc.name.startswith("heldout_") and not sc.realism.ideal
    assert sc.faults or (sc.random_faults is not None and sc.random_faults.count > 0)
