"""The simulated network: reproducibility, topology, the fault catalogue, ground truth, scenarios."""

from __future__ import annotations

import numpy as np
import pytest

from schemas import EntityKind, kpi_names
from simulator import (
    CATALOGUE,
    FAULT_TYPES,
    Network,
    Topology,
    load_scenario,
    parse_scenario,
)

# A small topology: upf-2 serves sites 2 and 4, smf-1 sites 1 and 3, amf-2 sites 2 and 4.
SMALL = """
name: small
seed: 3
ticks: 60
warmup_ticks: 5
topology: {sites: 4, cells_per_site: 3, upf: 2, smf: 2, amf: 2}
realism: ideal
"""

TARGETS = {
    EntityKind.CELL: "cell-0002-2",
    EntityKind.LINK: "link-0003",
    EntityKind.UPF: "upf-2",
    EntityKind.SMF: "smf-1",
    EntityKind.AMF: "amf-2",
}

FAULT_AT = 10
DURING = 12  # a tick while the fault is active


def small_network(faults: str = "faults: []") -> Network:
    return Network.from_scenario(parse_scenario(SMALL + faults))


def one_fault(fault_type: str, target: str | None = None, **fields: object) -> Network:
    target = target or TARGETS[FAULT_TYPES[fault_type].root_kind]
    spec = {"type": fault_type, "target": target, "at": FAULT_AT, **fields}
    body = ", ".join(f"{k}: {v}" for k, v in spec.items())
    return small_network(f"faults:\n  - {{{body}}}")


def matrices(frames) -> dict[EntityKind, np.ndarray]:
    """One tick's telemetry frames as KPI matrices per kind, rows in topology id order."""
    rows: dict[EntityKind, list[list[float]]] = {}
    for f in frames:
        assert list(f.kpis) == list(kpi_names(f.kind))
        rows.setdefault(f.kind, []).extend(f.values)
    return {kind: np.array(r) for kind, r in rows.items()}


def run_to(net: Network, tick: int) -> dict[EntityKind, np.ndarray]:
    """Step until ``tick`` has been produced; return that tick's KPI matrices."""
    assert net.tick <= tick
    while net.tick <= tick:
        frames = net.step()
    return matrices(frames)


def frame_values(frames) -> list[tuple]:
    return [(f.shard, f.kind, tuple(f.entity_ids), f.values) for f in frames]


def col(kind: EntityKind, kpi: str) -> int:
    return kpi_names(kind).index(kpi)


# --- reproducibility -------------------------------------------------------------------------


def test_same_seed_produces_identical_telemetry_frames():
    scenario = load_scenario("smoke")
    a, b = Network.from_scenario(scenario), Network.from_scenario(scenario)
    for _ in range(50):
        assert frame_values(a.step()) == frame_values(b.step())


def test_a_different_seed_produces_different_values():
    scenario = load_scenario("smoke")
    a = Network.from_scenario(scenario)
    b = Network.from_scenario(scenario.model_copy(update={"seed": scenario.seed + 1}))
    got, other = matrices(a.step()), matrices(b.step())
    assert got.keys() == other.keys()
    for kind in got:
        assert not np.array_equal(got[kind], other[kind])


def test_a_fault_free_twin_draws_the_same_healthy_values_as_a_run_with_explicit_faults():
    faulty, healthy = one_fault("cell_outage"), small_network()
    faulty_values, healthy_values = run_to(faulty, FAULT_AT - 1), run_to(healthy, FAULT_AT - 1)
    for kind in healthy_values:
        np.testing.assert_array_equal(faulty_values[kind], healthy_values[kind])


# --- topology ---------------------------------------------------------------------------------


def test_topology_ids_follow_the_documented_scheme():
    topo = Topology.build(sites=3, cells_per_site=2, upf=2, smf=1, amf=1)
    assert topo.ids[EntityKind.SITE] == ["site-0001", "site-0002", "site-0003"]
    assert topo.ids[EntityKind.GNB] == ["gnb-0001", "gnb-0002", "gnb-0003"]
    assert topo.ids[EntityKind.LINK] == ["link-0001", "link-0002", "link-0003"]
    assert topo.ids[EntityKind.CELL] == [
        "cell-0001-1",
        "cell-0001-2",
        "cell-0002-1",
        "cell-0002-2",
        "cell-0003-1",
        "cell-0003-2",
    ]
    assert topo.ids[EntityKind.UPF] == ["upf-1", "upf-2"]
    assert topo.ids[EntityKind.SMF] == ["smf-1"]
    assert topo.ids[EntityKind.AMF] == ["amf-1"]


def test_each_site_link_depends_on_its_round_robin_core_functions():
    upf, smf, amf = 2, 3, 4
    records = Topology.build(sites=9, cells_per_site=1, upf=upf, smf=smf, amf=amf).records()
    links = {r.entity_id: r for r in records if r.kind is EntityKind.LINK}
    for s in range(1, 10):
        expected = [
            f"upf-{(s - 1) % upf + 1}",
            f"smf-{(s - 1) % smf + 1}",
            f"amf-{(s - 1) % amf + 1}",
        ]
        assert links[f"link-{s:04d}"].depends_on == expected


def test_cells_depend_on_their_gnb_and_gnbs_on_their_link():
    records = Topology.build(sites=2, cells_per_site=3, upf=1, smf=1, amf=1).records()
    by_id = {r.entity_id: r for r in records}
    assert by_id["cell-0002-3"].depends_on == ["gnb-0002"]
    assert by_id["cell-0002-3"].site == "site-0002"
    assert by_id["gnb-0002"].depends_on == ["link-0002"]
    assert len(by_id) == len(records)  # every id is unique


def test_sites_served_by_an_nf_are_the_round_robin_ones():
    topo = Topology.build(sites=7, cells_per_site=1, upf=3, smf=1, amf=1)
    assert topo.sites_served_by(EntityKind.UPF, 1).tolist() == [1, 4]  # site-0002, site-0005


# --- every fault type shows its symptom ---------------------------------------------------------

UP, DOWN, ZERO = "up", "down", "zero"

# (whose row, kind, kpi, how it moves against the healthy twin); "root" is the fault's root,
# "cells" the cells it reaches (the root cell itself for cell faults).
SYMPTOMS = {
    "cell_outage": [
        ("root", EntityKind.CELL, k, ZERO)
        for k in ("prb_utilization_ratio", "throughput_mbps", "active_users", "cqi")
    ],
    "cell_congestion": [
        ("root", EntityKind.CELL, "prb_utilization_ratio", UP),
        ("root", EntityKind.CELL, "latency_ms", UP),
        ("root", EntityKind.CELL, "drop_rate_ratio", UP),
        ("root", EntityKind.CELL, "throughput_mbps", DOWN),
    ],
    "interference": [
        ("root", EntityKind.CELL, "cqi", DOWN),
        ("root", EntityKind.CELL, "bler_ratio", UP),
        ("root", EntityKind.CELL, "throughput_mbps", DOWN),
    ],
    "antenna_misconfig": [
        ("root", EntityKind.CELL, "active_users", DOWN),
        ("root", EntityKind.CELL, "throughput_mbps", DOWN),
        ("root", EntityKind.CELL, "handover_success_ratio", DOWN),
    ],
    "handover_failure": [
        ("root", EntityKind.CELL, "handover_success_ratio", DOWN),
        ("root", EntityKind.CELL, "drop_rate_ratio", UP),
    ],
    "upf_overload": [
        ("root", EntityKind.UPF, "cpu_utilization_ratio", UP),
        ("root", EntityKind.UPF, "latency_ms", UP),
        ("root", EntityKind.UPF, "error_rate_ratio", UP),
        ("cells", EntityKind.CELL, "latency_ms", UP),
        ("cells", EntityKind.CELL, "throughput_mbps", DOWN),
    ],
    "amf_degradation": [
        ("root", EntityKind.AMF, "error_rate_ratio", UP),
        ("root", EntityKind.AMF, "latency_ms", UP),
        ("cells", EntityKind.CELL, "handover_success_ratio", DOWN),
    ],
    "smf_session_failure": [
        ("root", EntityKind.SMF, "error_rate_ratio", UP),
        ("cells", EntityKind.CELL, "active_users", DOWN),
        ("cells", EntityKind.CELL, "drop_rate_ratio", UP),
    ],
    "link_degradation": [
        ("root", EntityKind.LINK, "latency_ms", UP),
        ("root", EntityKind.LINK, "packet_loss_ratio", UP),
        ("cells", EntityKind.CELL, "latency_ms", UP),
        ("cells", EntityKind.CELL, "packet_loss_ratio", UP),
    ],
    "link_down": [
        ("root", EntityKind.LINK, "utilization_ratio", ZERO),
        ("root", EntityKind.LINK, "packet_loss_ratio", UP),
        ("cells", EntityKind.CELL, "throughput_mbps", DOWN),
        ("cells", EntityKind.CELL, "packet_loss_ratio", UP),
        ("cells", EntityKind.CELL, "latency_ms", UP),
    ],
}

# The cells each root reaches in the SMALL topology (TARGETS above).
CELLS_BEHIND = {
    EntityKind.CELL: ["cell-0002-2"],
    EntityKind.LINK: ["cell-0003-1", "cell-0003-2", "cell-0003-3"],
    EntityKind.UPF: [f"cell-000{s}-{k}" for s in (2, 4) for k in (1, 2, 3)],
    EntityKind.SMF: [f"cell-000{s}-{k}" for s in (1, 3) for k in (1, 2, 3)],
    EntityKind.AMF: [f"cell-000{s}-{k}" for s in (2, 4) for k in (1, 2, 3)],
}


def test_the_symptom_table_covers_the_whole_catalogue_of_fixable_faults():
    assert set(SYMPTOMS) == {f.name for f in CATALOGUE} == set(FAULT_TYPES) - {"hardware_failure"}


@pytest.mark.parametrize("fault", CATALOGUE, ids=lambda f: f.name)
def test_each_fault_type_moves_its_documented_kpis_against_a_healthy_twin(fault):
    faulty, healthy = one_fault(fault.name), small_network()
    got, base = run_to(faulty, DURING), run_to(healthy, DURING)
    topo = faulty.topology
    rows = {"root": [TARGETS[fault.root_kind]], "cells": CELLS_BEHIND[fault.root_kind]}
    for who, kind, kpi, move in SYMPTOMS[fault.name]:
        for entity in rows[who]:
            _, i = topo.index(entity)
            now, healthy_value = got[kind][i, col(kind, kpi)], base[kind][i, col(kind, kpi)]
            where = f"{fault.name}: {entity} {kpi} {now} vs healthy {healthy_value}"
            if move == ZERO:
                assert now == 0.0, where
            elif move == UP:
                assert now > healthy_value, where
            else:
                assert now < healthy_value, where


@pytest.mark.parametrize("fault", CATALOGUE, ids=lambda f: f.name)
def test_each_fault_type_leaves_entities_it_does_not_reach_unchanged(fault):
    faulty, healthy = one_fault(fault.name), small_network()
    got, base = run_to(faulty, DURING), run_to(healthy, DURING)
    topo = faulty.topology
    reached = {TARGETS[fault.root_kind], *CELLS_BEHIND[fault.root_kind]}
    for kind, ids in topo.ids.items():
        if kind not in got:
            continue
        untouched = [i for i, e in enumerate(ids) if e not in reached]
        np.testing.assert_array_equal(
            got[kind][untouched],
            base[kind][untouched],
            err_msg=f"{fault.name} changed a {kind.value} it does not reach",
        )


def test_an_upf_overload_leaves_cells_of_sites_the_upf_does_not_serve_unchanged():
    faulty, healthy = one_fault("upf_overload"), small_network()
    got, base = run_to(faulty, DURING), run_to(healthy, DURING)
    not_served = [faulty.topology.index(f"cell-000{s}-{k}")[1] for s in (1, 3) for k in (1, 2, 3)]
    np.testing.assert_array_equal(
        got[EntityKind.CELL][not_served], base[EntityKind.CELL][not_served]
    )


def test_a_fault_shows_nothing_before_its_start_tick():
    faulty, healthy = one_fault("link_down"), small_network()
    got, base = run_to(faulty, FAULT_AT - 1), run_to(healthy, FAULT_AT - 1)
    for kind in base:
        np.testing.assert_array_equal(got[kind], base[kind])


# --- remediation --------------------------------------------------------------------------------


def started(fault_type: str) -> Network:
    net = one_fault(fault_type)
    run_to(net, DURING)
    assert [r.type for r in net.active_faults()] == [fault_type]
    return net


@pytest.mark.parametrize("fault", CATALOGUE, ids=lambda f: f.name)
def test_the_catalogue_remediation_on_the_root_ends_the_fault(fault):
    net = started(fault.name)
    root = TARGETS[fault.root_kind]
    outcome = net.apply(fault.remediation, root)
    record = net.truth[0]
    assert outcome.fixed == (record.fault_id,)
    assert (record.ended_by, record.end) == ("action", net.tick)
    assert net.active_faults() == []


@pytest.mark.parametrize("fault", CATALOGUE, ids=lambda f: f.name)
def test_a_wrong_catalogue_tool_on_the_root_leaves_the_fault_active(fault):
    net = started(fault.name)
    wrong = CATALOGUE[(CATALOGUE.index(fault) + 1) % len(CATALOGUE)].remediation
    assert wrong != fault.remediation
    outcome = net.apply(wrong, TARGETS[fault.root_kind])
    assert outcome.fixed == ()
    assert [r.type for r in net.active_faults()] == [fault.name]
    assert net.truth[0].ended_by is None


def test_the_right_tool_on_the_wrong_entity_leaves_the_fault_active():
    net = started("interference")
    net.apply("retune_frequency", "cell-0001-1")
    assert [r.root for r in net.active_faults()] == ["cell-0002-2"]


def test_a_remediated_fault_stops_showing_in_telemetry():
    faulty, healthy = started("cell_outage"), small_network()
    faulty.apply("restart_cell", "cell-0002-2")
    got, base = run_to(faulty, DURING + 2), run_to(healthy, DURING + 2)
    np.testing.assert_array_equal(got[EntityKind.CELL], base[EntityKind.CELL])


def test_a_tool_on_an_unknown_target_raises_key_error():
    net = started("cell_outage")
    with pytest.raises(KeyError):
        net.apply("restart_cell", "cell-9999-1")


# --- ground truth -------------------------------------------------------------------------------


def test_a_fault_with_a_duration_ends_naturally_at_start_plus_duration():
    net = one_fault("interference", duration=7)
    run_to(net, FAULT_AT + 6)
    assert net.truth[0].ended_by is None
    run_to(net, FAULT_AT + 7)
    record = net.truth[0]
    assert (record.start, record.natural_end) == (FAULT_AT, FAULT_AT + 7)
    assert (record.ended_by, record.end) == ("natural", FAULT_AT + 7)
    assert net.active_faults() == []


def test_a_fault_without_a_duration_stays_active_until_remediated():
    net = one_fault("handover_failure")
    run_to(net, 59)
    record = net.truth[0]
    assert (record.natural_end, record.end, record.ended_by) == (None, None, None)
    assert net.active_faults() == [record]


def test_ground_truth_records_the_planned_type_root_and_severity():
    net = one_fault("link_degradation", severity=0.5)
    run_to(net, FAULT_AT)
    record = net.truth[0]
    assert (record.fault_id, record.type, record.root, record.start, record.severity) == (
        "F001",
        "link_degradation",
        "link-0003",
        FAULT_AT,
        0.5,
    )
