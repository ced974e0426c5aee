"""What each fault type looks like: anomalous KPIs on the root and on the cells it reaches.

This is the localizer's knowledge of the network, written as an operator
would describe it; it is not read from the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas import EntityKind


@dataclass(frozen=True)
class Signature:
    """Expected symptoms of one fault type."""

    fault_type: str
    root_kind: EntityKind
    root_kpis: frozenset[str]
    cell_kpis: frozenset[str] = frozenset()


def _sig(name: str, kind: EntityKind, root: str, cells: str = "") -> Signature:
    return Signature(name, kind, frozenset(root.split()), frozenset(cells.split()))


SIGNATURES: tuple[Signature, ...] = (
    _sig("cell_outage", EntityKind.CELL, "prb_utilization_ratio throughput_mbps active_users cqi"),
    _sig("cell_congestion", EntityKind.CELL,
         "prb_utilization_ratio latency_ms drop_rate_ratio throughput_mbps"),
    _sig("interference", EntityKind.CELL, "cqi bler_ratio throughput_mbps"),
    _sig("antenna_misconfig", EntityKind.CELL, "active_users throughput_mbps handover_success_ratio"),
    _sig("handover_failure", EntityKind.CELL, "handover_success_ratio drop_rate_ratio"),
    _sig("upf_overload", EntityKind.UPF, "cpu_utilization_ratio latency_ms error_rate_ratio",
         "latency_ms throughput_mbps"),
    _sig("amf_degradation", EntityKind.AMF, "error_rate_ratio latency_ms", "handover_success_ratio"),
    _sig("smf_session_failure", EntityKind.SMF, "error_rate_ratio", "active_users drop_rate_ratio"),
    _sig("link_degradation", EntityKind.LINK, "latency_ms packet_loss_ratio",
         "latency_ms packet_loss_ratio"),
    _sig("link_down", EntityKind.LINK, "utilization_ratio packet_loss_ratio",
         "throughput_mbps packet_loss_ratio latency_ms"),
)

SIGNATURES_BY_KIND: dict[EntityKind, tuple[Signature, ...]] = {
    kind: tuple(s for s in SIGNATURES if s.root_kind is kind) for kind in EntityKind
}


def match(observed: frozenset[str] | set[str], expected: frozenset[str]) -> float:
    """F1 overlap of observed and expected KPI sets, 0..1.

    >>> match({"cqi", "bler_ratio"}, frozenset({"cqi", "bler_ratio", "throughput_mbps"}))
    0.8
    """
    if not observed or not expected:
        return 0.0
    hit = len(expected & set(observed))
    return 2.0 * hit / (len(observed) + len(expected))
