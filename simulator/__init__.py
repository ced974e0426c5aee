"""The simulated 5G network that the loop acts on until a real one is plugged in: an honest adversary.

:class:`Network` is seeded and vectorized: ``step()`` returns the telemetry
frames that reach the bus at one tick, ``apply(tool, target, parameters)``
executes a remediation, ``notices()`` the alarms and maintenance windows it
announces, ``truth`` holds the ground truth of every fault — for the scorer
only. Fault symptoms vary by episode, fixes depend on their parameters and
take time, some faults no tool fixes, benign events and imperfect telemetry
and topology are part of the world (``realism: ideal`` turns it all off).
Scenarios are YAML files (:func:`load_scenario`); the fault catalogue is
:data:`CATALOGUE` (fixable) and :data:`HARDWARE_FAILURE`.
"""

from simulator.events import EVENT_TYPES, PlannedEvent
from simulator.faults import CATALOGUE, FAULT_TYPES, HARDWARE_FAILURE, REMEDIATION_TOOLS, FaultType
from simulator.network import Network
from simulator.plan import PlannedFault, plan_faults, validate_scenario
from simulator.realism import IDEAL, PERFECT_TELEMETRY, Realism, Telemetry
from simulator.scenario import (
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)
from simulator.topology import Topology
from simulator.truth import FaultRecord, ToolOutcome

__all__ = [
    "CATALOGUE",
    "EVENT_TYPES",
    "FAULT_TYPES",
    "HARDWARE_FAILURE",
    "IDEAL",
    "PERFECT_TELEMETRY",
    "REMEDIATION_TOOLS",
    "FaultRecord",
    "FaultType",
    "Network",
    "PlannedEvent",
    "PlannedFault",
    "Realism",
    "Scenario",
    "ScenarioError",
    "Telemetry",
    "ToolOutcome",
    "Topology",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
    "plan_faults",
    "validate_scenario",
]
