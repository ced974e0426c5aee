"""The simulated 5G network that the loop acts on until a real one is plugged in.

:class:`Network` is seeded and vectorized: ``step()`` returns one tick of
telemetry frames, ``apply(tool, target)`` executes a remediation, ``truth``
holds the ground truth of every fault. Scenarios are YAML files
(:func:`load_scenario`); the fault catalogue is :data:`CATALOGUE`.
"""

from simulator.faults import CATALOGUE, FAULT_TYPES, REMEDIATION_TOOLS, FaultType
from simulator.network import FaultRecord, Network, ToolOutcome
from simulator.plan import PlannedFault, plan_faults, validate_scenario
from simulator.scenario import (
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)
from simulator.topology import Topology
from simulator.twin import NetworkTwin

__all__ = [
    "CATALOGUE",
    "FAULT_TYPES",
    "REMEDIATION_TOOLS",
    "FaultRecord",
    "FaultType",
    "Network",
    "NetworkTwin",
    "PlannedFault",
    "Scenario",
    "ScenarioError",
    "ToolOutcome",
    "Topology",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
    "plan_faults",
    "validate_scenario",
]
