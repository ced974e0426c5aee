"""Benign events, imperfect telemetry and topology, and the scenario keys that ask for them."""

from __future__ import annotations

import pytest

from schemas import EntityKind, MaintenanceWindow
from simulator import Network, ScenarioError, parse_scenario
from tests.test_world import BASE, network, step_to, value

SURGE = "events: [{type: traffic_surge, target: site-0002, at: 40, duration: 40, factor: 3.0}]\n"
MAINTENANCE = "events: [{type: maintenance, target: cell-0003-2, at: 90, duration: 20, notice: 50}]\n"


# --- benign events --------------------------------------------------------------------------------


def test_a_surge_raises_demand_within_capacity_and_service_holds():
    surged, calm = network(SURGE), network("faults: []\n")
    s, c = step_to(surged, 60), step_to(calm, 60)
    cell = "cell-0002-1"
    assert value(s, surged, cell, "active_users") > 2.5 * value(c, calm, cell, "active_users")
    assert (
        value(c, calm, cell, "prb_utilization_ratio") < value(s, surged, cell, "prb_utilization_ratio") < 0.9
    )
    assert value(s, surged, cell, "throughput_mbps") > value(c, calm, cell, "throughput_mbps")
    for kpi in (
        "latency_ms",
        "packet_loss_ratio",
        "cqi",
        "bler_ratio",
        "handover_success_ratio",
        "drop_rate_ratio",
    ):
        assert value(s, surged, cell, kpi) == value(c, calm, cell, kpi), kpi
    assert value(s, surged, "link-0002", "utilization_ratio") > value(
        c, calm, "link-0002", "utilization_ratio"
    )
    assert value(s, surged, "cell-0001-1", "active_users") == value(c, calm, "cell-0001-1", "active_users")


def test_maintenance_is_announced_ahead_and_darkens_its_cell_inside_its_window():
    net = network(MAINTENANCE)
    step_to(net, 39)
    assert net.notices() == []
    step_to(net, 40)
    [window] = net.notices()
    assert isinstance(window, MaintenanceWindow)
    assert (window.entity_id, window.start_tick, window.end_tick, window.announced_tick) == (
        "cell-0003-2",
        90,
        110,
        40,
    )
    assert net.maintenance_calendar() == [window]
    dark = step_to(net, 95)
    assert value(dark, net, "cell-0003-2", "throughput_mbps") == 0.0
    assert value(dark, net, "cell-0003-2", "cqi") == 0.0
    after = step_to(net, 112)
    assert value(after, net, "cell-0003-2", "throughput_mbps") > 0
    assert net.maintenance_calendar() == []


def test_adding_a_benign_event_does_not_change_how_the_healthy_network_draws():
    a, b = network(SURGE), network("faults: []\n")
    va, vb = step_to(a, 60), step_to(b, 60)
    untouched = [i for i, e in enumerate(a.topology.ids[EntityKind.CELL]) if not e.startswith("cell-0002")]
    assert (va[EntityKind.CELL][untouched] == vb[EntityKind.CELL][untouched]).all()


# --- imperfect telemetry and topology -----------------------------------------------------------


def test_frames_are_lost_late_or_sent_twice_at_the_scenario_s_rates():
    spec = "telemetry: {loss: 0.1, late: 0.1, duplicate: 0.1, counter_reset: 0}\n"
    net = Network.from_scenario(
        parse_scenario(BASE.replace("telemetry: {loss: 0, late: 0, duplicate: 0, counter_reset: 0}\n", spec))
    )
    sent = []
    for _ in range(200):
        tick = net.tick
        sent += [(tick, f.tick, f.shard, f.kind) for f in net.step()]
    per_tick = len({(f[2], f[3]) for f in sent})
    c = net.channel
    total = 200 * per_tick
    assert (
        0.05 < c.lost / total < 0.15 and 0.05 < c.late / total < 0.15 and 0.05 < c.duplicated / total < 0.15
    )
    late = [s for s in sent if s[1] < s[0]]
    assert late and all(1 <= s[0] - s[1] <= 3 for s in late)  # they carry their own tick
    assert len(sent) - len(set(sent)) >= c.duplicated * 0.9


def test_a_counter_reset_reads_zero_for_one_tick_while_the_network_keeps_its_count():
    net = Network.from_scenario(parse_scenario(BASE.replace("counter_reset: 0", "counter_reset: 0.1")))
    seen = []
    for _ in range(30):
        for f in net.step():
            if f.kind is EntityKind.CELL:
                seen += [
                    (e, net.latest_kpis(e)["throughput_mbps"])
                    for e, row in zip(f.entity_ids, f.values, strict=True)
                    if row[1] == 0.0
                ]
    assert 10 < len(seen) < 80 and all(kept > 0 for _, kept in seen)  # 12 cells × 30 ticks × 10%


def test_the_published_topology_has_wrong_or_missing_edges_and_the_network_acts_on_the_truth():
    net = network(
        "faults: [{type: link_down, target: link-0002, at: 30}]\n",
        "realism: {topology_errors: 0.5, partial_propagation: 0}\n",
    )
    wrong = [(p, t) for p, t in zip(net.topology_records(), net.true_topology, strict=True) if p != t]
    assert wrong and all(p.entity_id == t.entity_id for p, t in wrong)
    cells = step_to(net, 32)
    for sector in (1, 2, 3):  # the link's real cells lose their backhaul whatever the inventory says
        assert value(cells, net, f"cell-0002-{sector}", "packet_loss_ratio") >= 0.5


# --- the scenario keys ------------------------------------------------------------------------------


def test_realistic_values_are_the_defaults_and_realism_ideal_turns_every_imperfection_off():
    default = parse_scenario(
        BASE.replace("telemetry: {loss: 0, late: 0, duplicate: 0, counter_reset: 0}\n", "")
    )
    assert default.realism.signature_jitter == 0.3 and default.telemetry.loss == 0.01
    ideal = parse_scenario(
        BASE.replace("telemetry: {loss: 0, late: 0, duplicate: 0, counter_reset: 0}\n", "")
        + "realism: ideal\n"
    )
    assert ideal.realism.ideal and ideal.telemetry.perfect
    assert ideal.realism.recovery_ticks == (0, 0) and not ideal.realism.parameters


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("realism: {signature_jitter: 2}", "realism.signature_jitter"),
        ("realism: {onset: [step, wobble]}", "realism.onset"),
        ("realism: {recovery_ticks: [8, 2]}", "recovery_ticks"),
        ("realism: perfect", "realism"),
        ("realism: {colour: 1}", "realism.colour"),
        ("telemetry: {loss: 0.9}", "telemetry.loss"),
        ("telemetry: {lost: 0.1}", "telemetry.lost"),
        ("events: [{type: parade, at: 40}]", "events.0.type"),
        ("events: [{type: maintenance, at: 40, factor: 2}]", "factor"),
        ("events: [{type: traffic_surge, at: 5}]", "events.0.at"),
        ("events: [{type: traffic_surge, target: link-0001, at: 40}]", "events.0.target"),
        ("events: [{type: maintenance, target: site-0099, at: 40}]", "events.0.target"),
        ("random_events: {count: 3, duration: [50, 10]}", "random_events.duration"),
        ("random_events: {count: 3, types: [fireworks]}", "random_events.types"),
    ],
)
def test_a_bad_value_of_the_new_keys_is_refused_naming_the_field(extra, field):
    body = BASE.replace("telemetry: {loss: 0, late: 0, duplicate: 0, counter_reset: 0}\n", "") + extra + "\n"
    with pytest.raises(ScenarioError) as info:
        Network.from_scenario(parse_scenario(body, "bad.yaml"))
    assert field in str(info.value)


def test_the_cli_refuses_a_bad_realism_value_with_exit_2_and_no_traceback(tmp_path):
    from tests.test_cli import netloop

    path = tmp_path / "bad.yaml"
    path.write_text(BASE + "realism: {partial_propagation: -1}\n")
    done = netloop("run", "--scenario", str(path), "--fast", "--json", "-")
    assert done.returncode == 2 and "realism.partial_propagation" in done.stderr
    assert "Traceback" not in done.stderr
