"""``netloop bench --localize``: the localize stage timed on a scenario's own anomaly events."""

from __future__ import annotations

from simulator import parse_scenario
from streams.bench.localize import hundred_k_cells, localize_cost

SMALL = """
name: bench-small
seed: 3
ticks: 160
warmup_ticks: 120
topology: {sites: 6, cells_per_site: 3, upf: 1, smf: 1, amf: 1}
faults:
  - {type: link_down, target: link-0002, at: 130, duration: 10}
"""


def test_the_localize_bench_times_every_tick_after_warmup_and_opens_the_faults_incident():
    cost = localize_cost(parse_scenario(SMALL, "test"))
    assert cost.ticks == 40 and cost.events > 0 and cost.incidents >= 1
    assert 0 < cost.rank_mean_ms <= cost.localize_mean_ms <= cost.localize_max_ms


def test_the_hundred_thousand_cell_network_has_that_many_cells():
    sc = hundred_k_cells()
    assert sc.topology.sites * sc.topology.cells_per_site >= 100_000
