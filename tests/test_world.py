"""The honest world: symptoms vary, acting has consequences, some faults no tool fixes."""

from __future__ import annotations

import numpy as np
import pytest

from schemas import EntityKind, kpi_names
from simulator import FAULT_TYPES, IDEAL, Network, Realism, parse_scenario
from simulator.episode import Episode
from tests.test_simulator import matrices

BASE = """
name: world
seed: 11
ticks: 200
warmup_ticks: 20
topology: {sites: 4, cells_per_site: 3, upf: 2, smf: 2, amf: 2}
telemetry: {loss: 0, late: 0, duplicate: 0, counter_reset: 0}
"""
AT = 30


def network(extra: str, realism: str = "") -> Network:
    return Network.from_scenario(parse_scenario(BASE + realism + extra))


def step_to(net: Network, tick: int) -> dict[EntityKind, np.ndarray]:
    while net.tick <= tick:
        frames = net.step()
    return matrices(frames)


def value(values: dict[EntityKind, np.ndarray], net: Network, entity: str, kpi: str) -> float:
    kind, i = net.topology.index(entity)
    return float(values[kind][i, kpi_names(kind).index(kpi)])


def healthy(entity: str, kpi: str, tick: int, realism: str = "") -> float:
    net = network("faults: []\n", realism)
    return value(step_to(net, tick), net, entity, kpi)


# --- symptoms vary -------------------------------------------------------------------------------


def drawn(seed: int) -> list[tuple[str, int, float]]:
    net = Network.from_scenario(
        parse_scenario(
            (BASE + f"faults: [{{type: interference, target: cell-0002-1, at: {AT}}}]\n").replace(
                "seed: 11", f"seed: {seed}"
            )
        )
    )
    step_to(net, AT)
    return [(d.where, d.column, round(d.size, 4)) for d in net._active[0].episode.symptoms]


def test_two_faults_of_one_type_never_look_identical_in_the_realistic_world():
    episodes = [drawn(seed) for seed in range(6)]
    assert len({tuple(e) for e in episodes}) == 6
    assert len({tuple((w, c) for w, c, _ in e) for e in episodes}) > 1  # which KPIs move varies too


def test_each_cell_behind_the_root_is_reached_with_its_own_size_and_lag_or_not_at_all():
    behind = np.arange(400)

    def draw(realism: Realism) -> Episode:
        return Episode.draw(
            FAULT_TYPES["upf_overload"],
            start=0,
            severity=0.8,
            root_kind=EntityKind.UPF,
            root=0,
            behind=behind,
            siblings=np.zeros(0, dtype=int),
            realism=realism,
            rng=np.random.default_rng(1),
        )

    ep = draw(Realism(partial_propagation=0.3))
    assert 0.6 < len(ep.cells) / len(behind) < 0.8
    assert set(ep.lags.tolist()) == {0, 1, 2, 3}
    sizes = [d.factors for d in ep.symptoms if d.where == "cells" and d.factors is not None]
    assert sizes and all(np.ptp(f) > 0.3 for f in sizes)
    ideal = draw(IDEAL)
    assert len(ideal.cells) == len(behind) and not ideal.lags.any()


def test_a_ramp_onset_grows_over_several_ticks():
    net = network(
        "faults: [{type: cell_congestion, target: cell-0002-1, at: 30}]\n",
        "realism: {onset: [ramp], signature_jitter: 0}\n",
    )
    lat = [value(step_to(net, t), net, "cell-0002-1", "latency_ms") for t in range(AT, AT + 12)]
    ep = net._active[0].episode
    assert ep.onset == "ramp" and ep.ramp_ticks >= 3
    assert lat[ep.ramp_ticks - 1] - lat[0] > 20  # still growing after the first tick


def test_an_intermittent_fault_goes_quiet_for_a_tick_or_two_and_comes_back():
    net = network(
        "faults: [{type: handover_failure, target: cell-0002-1, at: 30}]\n",
        "realism: {onset: [intermittent]}\n",
    )
    step_to(net, AT)
    ep = net._active[0].episode
    shows = [ep.intensity(t) > 0 for t in range(AT, AT + 60)]
    gaps = "".join("1" if s else "0" for s in shows).split("1")
    assert "0" in gaps or "00" in gaps
    assert max(len(g) for g in gaps) <= 2 and sum(shows) > 40


# --- acting has consequences ----------------------------------------------------------------------

CONGESTION = "faults: [{type: cell_congestion, target: cell-0002-1, at: 30, severity: 0.9}]\n"


def test_an_offload_ratio_below_what_the_excess_load_needs_relieves_congestion_only_in_part():
    net = network(CONGESTION)
    step_to(net, AT + 2)
    need = net._active[0].episode.need
    partly = net.apply("enable_load_balancing", "cell-0002-1", {"offload_ratio": need / 2})
    assert partly.fixed == () and partly.partly == ("F001",)
    enough = net.apply("enable_load_balancing", "cell-0002-1", {"offload_ratio": need + 0.01})
    assert enough.fixed == ("F001",)


def test_a_tilt_far_from_the_planned_one_fixes_nothing_and_the_planned_one_fixes_it():
    net = network("faults: [{type: antenna_misconfig, target: cell-0002-1, at: 30}]\n")
    step_to(net, AT + 2)
    assert net.apply("set_antenna_tilt", "cell-0002-1", {"tilt_deg": 12.0}).fixed == ()
    assert net.apply("set_antenna_tilt", "cell-0002-1", {"tilt_deg": 4.0}).fixed == ("F001",)


def test_a_fix_recovers_over_ticks_not_at_once_and_the_fault_ends_when_the_kpis_are_back():
    net = network(
        "faults: [{type: link_degradation, target: link-0002, at: 30, severity: 0.9}]\n",
        "realism: {recovery_ticks: [6, 6], partial_propagation: 0, signature_jitter: 0}\n",
    )
    step_to(net, AT + 3)
    net.apply("reroute_link", "link-0002", {"max_utilization_ratio": 0.95})
    fixed_at = net.tick
    loss = [
        value(step_to(net, t), net, "link-0002", "packet_loss_ratio") for t in range(fixed_at, fixed_at + 8)
    ]
    assert loss[1] > loss[4] > loss[7]  # falling over the recovery ticks
    record = net.truth[0]
    assert (record.fixed_tick, record.end, record.ended_by) == (fixed_at, fixed_at + 6, "action")


def test_a_scale_out_helps_only_once_its_instances_are_up():
    net = network(
        "faults: [{type: upf_overload, target: upf-2, at: 30}]\n",
        "realism: {recovery_ticks: [1, 1], onset: [step]}\n",
    )
    step_to(net, AT + 2)
    net.apply("scale_out_upf", "upf-2", {"instances": 4})
    ep = net._active[0].episode
    assert ep.fixed and ep._level.t0 - net.tick >= 2  # 2–5 ticks to come up
    assert ep.intensity(net.tick + 1) == pytest.approx(ep.intensity(net.tick - 1))


def test_a_reroute_loads_the_alternative_path_until_it_is_rolled_back():
    realism = "realism: {signature_jitter: 0, partial_propagation: 0}\n"
    net = network("faults: [{type: link_degradation, target: link-0002, at: 30}]\n", realism)
    calm = network("faults: [{type: link_degradation, target: link-0002, at: 30}]\n", realism)
    step_to(net, AT + 2)
    step_to(calm, AT + 2)
    net.apply("reroute_link", "link-0002", {"max_utilization_ratio": 0.95})
    loaded, before = step_to(net, AT + 3), step_to(calm, AT + 3)
    assert (
        value(loaded, net, "link-0003", "utilization_ratio")
        > value(before, calm, "link-0003", "utilization_ratio") + 0.05
    )
    net.apply("rollback_change", "link-0002")
    assert ("reroute_link", "link-0002") not in net.changes()


def test_rolling_back_one_of_two_like_changes_on_a_link_undoes_the_last_and_keeps_the_other():
    net = network("faults: []\n")
    step_to(net, AT)
    net.apply("reroute_link", "link-0002", {"max_utilization_ratio": 0.9})  # nothing broken: a change
    net.apply("reroute_link", "link-0002", {"max_utilization_ratio": 0.8})
    assert net.changes() == [("reroute_link", "link-0002")] * 2
    outcome = net.apply("rollback_change", "link-0002")  # compared two changes' cell arrays: ValueError
    assert outcome.ok and net.changes() == [("reroute_link", "link-0002")]
    assert net.rollbacks == [(net.tick, "link-0002", "reroute_link")]


def test_a_fixed_fault_can_come_back_later():
    net = network(
        "faults: [{type: interference, target: cell-0003-1, at: 30}]\n", "realism: {recurrence: 1.0}\n"
    )
    step_to(net, AT + 2)
    net.apply("retune_frequency", "cell-0003-1")
    step_to(net, 199)
    first, again = net.truth
    assert (again.type, again.root, again.recurs) == ("interference", "cell-0003-1", first.fault_id)
    assert again.start >= first.fixed_tick + 40


# --- some faults no tool fixes --------------------------------------------------------------------


def test_a_hardware_failure_raises_an_equipment_alarm_and_no_tool_fixes_it():
    net = network("faults: [{type: hardware_failure, target: cell-0002-2, at: 30}]\n")
    step_to(net, AT + 4)
    alarms = [n for n in net.notices() if n.topic == "netloop.alarms"]
    assert [(a.entity_id, a.probable_cause) for a in alarms] == [("cell-0002-2", "equipment")]
    restart = net.apply("restart_cell", "cell-0002-2")
    assert not restart.ok and "hardware" in restart.detail
    for tool in ("retune_frequency", "set_antenna_tilt", "reset_neighbour_relations"):
        assert net.apply(tool, "cell-0002-2").fixed == ()
    step_to(net, 199)
    assert net.truth[0].ended_by is None and not net.truth[0].fixable


def test_a_hardware_failure_on_a_link_is_refused_naming_the_kinds_it_can_have():
    from simulator import ScenarioError

    with pytest.raises(ScenarioError, match=r"faults\.0\.target: hardware_failure needs a cell or upf"):
        network("faults: [{type: hardware_failure, target: link-0001, at: 30}]\n")
