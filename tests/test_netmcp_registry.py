"""NetMCP registry: discovery by area, task and load, liveness, tool acceptance, and tool search."""

from __future__ import annotations

import pytest

from netmcp.registry import (
    InvalidRecord,
    Registry,
    ServerRecord,
    ToolDescriptor,
    UnknownServer,
    accepts_tool,
    parse_record,
)
from netmcp.search import ToolIndex, UsageCounter, words
from tests.fake_clock import Clock

# The simulator's tools, as their servers describe them.
RAN_TOOLS = (
    ToolDescriptor(name="restart_cell", description="Restart a cell that is down (clears a cell outage).",
                   labels=("ran", "recovery"), category="remediation", domain="ran"),
    ToolDescriptor(name="enable_load_balancing", labels=("ran",), category="remediation", domain="ran",
                   description="Offload users of a congested cell to its neighbours (mobility load "
                               "balancing)."),
    ToolDescriptor(name="retune_frequency", labels=("ran",), category="remediation", domain="ran",
                   description="Move a cell to a cleaner carrier to escape interference."),
    ToolDescriptor(name="get_cell_status", labels=("ran",), category="observation", domain="ran",
                   description="Return a radio cell's status: last KPIs (PRB load, throughput, CQI) "
                               "and alarms."),
)
CORE_TOOLS = (
    ToolDescriptor(name="scale_out_upf", description="Add user-plane instances to an overloaded UPF.",
                   labels=("core",), category="remediation", domain="core"),
    ToolDescriptor(name="restart_smf", description="Restart an SMF whose session establishment is failing.",
                   labels=("core",), category="remediation", domain="core"),
)
TRANSPORT_TOOLS = (
    ToolDescriptor(name="reroute_link", labels=("transport",), category="remediation", domain="transport",
                   description="Move traffic of a degraded backhaul link onto an alternative path."),
)


def server(server_id: str, tools: tuple[ToolDescriptor, ...] = RAN_TOOLS, *, max_load: float = 100.0,
           area: str = "metro-north") -> ServerRecord:
    return ServerRecord(server_id=server_id, url=f"http://{server_id}:8765/mcp", vendor="acme",
                        max_load=max_load, service_area=(area,), summary="RAN recovery",
                        labels=("ran",), tools=tools)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(clock: Clock) -> Registry:
    return Registry(clock, heartbeat_timeout_s=15)


def servers_for(registry: Registry, tool: str, area: str | None = None) -> list[str]:
    [found] = registry.discover(area=area, tool=tool)
    return [offer.server_id for offer in found.servers]


# --- load-aware routing and liveness -------------------------------------------------------------

def test_discovery_returns_the_least_loaded_of_a_redundant_pair_and_flips_when_the_loads_flip(
        registry: Registry) -> None:
    registry.register(server("ran-a"))
    registry.register(server("ran-b"))
    registry.report_load("ran-a", 70.0)
    registry.report_load("ran-b", 20.0)
    assert servers_for(registry, "restart_cell") == ["ran-b", "ran-a"]
    registry.report_load("ran-a", 10.0)
    registry.report_load("ran-b", 90.0)
    assert servers_for(registry, "restart_cell") == ["ran-a", "ran-b"]


def test_servers_are_ordered_by_utilisation_not_by_raw_load(registry: Registry) -> None:
    registry.register(server("big", max_load=1000.0))
    registry.register(server("small", max_load=10.0))
    registry.report_load("big", 200.0)   # 20 % used
    registry.report_load("small", 5.0)   # 50 % used
    [found] = registry.discover(tool="restart_cell")
    assert [(o.server_id, o.utilisation) for o in found.servers] == [("big", 0.2), ("small", 0.5)]


def test_a_server_that_stops_reporting_is_dropped_from_discovery_but_stays_listed(
        registry: Registry, clock: Clock) -> None:
    registry.register(server("ran-a"))
    registry.register(server("ran-b"))
    clock.now += 10
    registry.report_load("ran-a", 50.0)
    clock.now += 10  # ran-b last heard from 20 s ago, ran-a 10 s ago
    assert servers_for(registry, "restart_cell") == ["ran-a"]
    assert {s.record.server_id: s.alive for s in registry.servers()} == {"ran-a": True, "ran-b": False}
    registry.report_load("ran-b", 0.0)
    assert servers_for(registry, "restart_cell") == ["ran-b", "ran-a"]


def test_a_server_heard_from_exactly_at_the_timeout_is_still_alive(registry: Registry, clock: Clock) -> None:
    registry.register(server("ran-a"))
    clock.now += 15
    assert servers_for(registry, "restart_cell") == ["ran-a"]


def test_discovery_keeps_to_the_service_area(registry: Registry) -> None:
    registry.register(server("north", area="metro-north"))
    registry.register(server("south", area="metro-south"))
    assert servers_for(registry, "restart_cell", area="metro-south") == ["south"]
    assert registry.discover(area="nowhere") == []
    assert servers_for(registry, "restart_cell") == ["north", "south"]


# --- discovery by task ------------------------------------------------------------------------------

def test_task_text_discovery_ranks_the_right_tool_first(registry: Registry) -> None:
    registry.register(server("ran-a", RAN_TOOLS))
    registry.register(server("core-a", CORE_TOOLS))
    registry.register(server("tn-a", TRANSPORT_TOOLS))
    found = registry.discover(task="cell is down, no traffic", k=3)
    assert found[0].tool.name == "restart_cell"
    assert found[0].servers[0].server_id == "ran-a"
    assert len(found) == 3
    scores = [d.score for d in found]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert registry.discover(task="UPF overloaded, sessions piling up", k=1)[0].tool.name == "scale_out_upf"


def test_without_a_task_every_tool_is_listed_by_name(registry: Registry) -> None:
    registry.register(server("core-a", CORE_TOOLS))
    found = registry.discover()
    assert [d.tool.name for d in found] == ["restart_smf", "scale_out_upf"]
    assert all(d.score is None for d in found)


def test_a_task_only_ranks_tools_of_servers_in_the_area(registry: Registry) -> None:
    registry.register(server("ran-a", RAN_TOOLS, area="metro-south"))
    registry.register(server("core-a", CORE_TOOLS))
    names = {d.tool.name for d in registry.discover(area="metro-north", task="cell is down", k=5)}
    assert names == {"restart_smf", "scale_out_upf"}


# --- records and their validation ------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"max_load": 0}, "max_load"),
    ({"url": "ftp://x/mcp"}, "url"),
    ({"service_area": []}, "service_area"),
    ({"server_id": "has space"}, "server_id"),
    ({"max_lod": 3}, "max_lod"),
    ({"tools": [RAN_TOOLS[0].model_dump(), RAN_TOOLS[0].model_dump()]}, "tools"),
])
def test_an_invalid_record_is_refused_naming_the_field(change: dict, field: str) -> None:
    with pytest.raises(InvalidRecord, match=field):
        parse_record(server("ran-a").model_dump() | change)


def test_an_update_changes_the_record_but_never_its_id(registry: Registry) -> None:
    registry.register(server("ran-a"))
    assert registry.update("ran-a", max_load=50.0).max_load == 50.0
    with pytest.raises(InvalidRecord, match="max_load"):
        registry.update("ran-a", max_load=-1)
    with pytest.raises(InvalidRecord, match="server_id"):
        registry.update("ran-a", server_id="ran-z")
    assert registry.get("ran-a").max_load == 50.0


def test_an_update_of_the_tools_is_seen_by_task_discovery(registry: Registry) -> None:
    registry.register(server("ran-a", RAN_TOOLS))
    registry.discover(task="cell is down")
    registry.update("ran-a", tools=[t.model_dump() for t in TRANSPORT_TOOLS])
    assert [d.tool.name for d in registry.discover(task="cell is down")] == ["reroute_link"]


@pytest.mark.parametrize("load", [-1.0, float("nan"), float("inf"), "high", True])
def test_a_load_report_must_be_a_finite_non_negative_number(registry: Registry, load: object) -> None:
    registry.register(server("ran-a"))
    with pytest.raises(InvalidRecord, match="load"):
        registry.report_load("ran-a", load)  # type: ignore[arg-type]


def test_an_unknown_server_is_refused_by_update_load_and_deregister(registry: Registry) -> None:
    for call in (lambda: registry.update("ghost", vendor="x"), lambda: registry.report_load("ghost", 1.0),
                 lambda: registry.deregister("ghost")):
        with pytest.raises(UnknownServer, match="ghost"):
            call()


def test_a_deregistered_server_is_neither_listed_nor_discovered(registry: Registry) -> None:
    registry.register(server("ran-a"))
    registry.deregister("ran-a")
    assert registry.servers() == [] and registry.discover() == []


def test_the_registry_refuses_servers_beyond_its_capacity(clock: Clock) -> None:
    registry = Registry(clock, max_servers=2)
    registry.register(server("a"))
    registry.register(server("b"))
    registry.register(server("b"))  # re-registering is not a new server
    with pytest.raises(InvalidRecord, match="full"):
        registry.register(server("c"))


# --- which tools a tool server accepts ---------------------------------------------------------------

def test_a_tool_server_accepts_a_tool_sharing_one_of_its_labels() -> None:
    ok, reason = accepts_tool(["ran", "recovery"], "", RAN_TOOLS[0])
    assert ok and "ran" in reason and "label" in reason


def test_a_tool_server_accepts_an_unlabelled_tool_its_summary_describes() -> None:
    tool = ToolDescriptor(name="reroute_link", description="Reroute traffic of a degraded backhaul link.")
    ok, reason = accepts_tool(["transport"], "Transport network: reroute traffic around degraded or failed "
                              "backhaul links.", tool)
    assert ok and "summary" in reason


def test_a_tool_server_refuses_an_unrelated_tool_and_says_why() -> None:
    ok, reason = accepts_tool(["transport"], "Transport network: reroute traffic around degraded or failed "
                              "backhaul links.", CORE_TOOLS[0])
    assert not ok
    assert "no shared label" in reason and "core" in reason and "similarity" in reason


# --- tool search and usage ---------------------------------------------------------------------------

def test_tool_names_are_searched_as_words() -> None:
    assert words("restart_cell") == "restart cell"
    index = ToolIndex([ToolDescriptor(name="restart_cell", description="Bring it back."),
                       ToolDescriptor(name="reroute_link", description="Move traffic elsewhere.")])
    assert index.search("restart the cell", k=1)[0][0] == "restart_cell"


def test_search_scores_are_in_the_unit_interval_and_deterministic() -> None:
    tools = RAN_TOOLS + CORE_TOOLS + TRANSPORT_TOOLS
    first = ToolIndex(tools).search("congested cell, too many users", k=10)
    assert first == ToolIndex(reversed(tools)).search("congested cell, too many users", k=10)
    assert first[0][0] == "enable_load_balancing"
    assert len(first) == len(tools) and all(0.0 <= s <= 1.0 for _, s in first)
    assert ToolIndex([]).search("anything") == [] and ToolIndex(tools).search("  ") == []


def test_usage_puts_a_client_s_most_called_tools_first_and_keeps_ties_in_order() -> None:
    usage = UsageCounter()
    for tool in ["reroute_link", "restart_cell", "restart_cell"]:
        usage.record("agent-1", tool)
    names = ["get_cell_status", "reroute_link", "restart_cell", "scale_out_upf"]
    assert usage.order("agent-1", names) == ["restart_cell", "reroute_link", "get_cell_status",
                                             "scale_out_upf"]
    assert usage.order("agent-2", names) == names


def test_usage_memory_is_bounded_forgetting_the_least_recent_client() -> None:
    usage = UsageCounter(max_clients=3, max_tools=2)
    for i in range(10):
        usage.record(f"agent-{i}", "restart_cell")
    for tool in ["a", "b", "c"]:
        usage.record("agent-9", tool)
    assert len(usage) == 3
    assert usage.order("agent-0", ["x", "restart_cell"]) == ["x", "restart_cell"]
    assert usage.order("agent-9", ["c", "a"]) == ["a", "c"]  # c was beyond max_tools, not counted
