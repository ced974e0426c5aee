"""Deciding and acting safely: policies, workflows, guards, approvals, the digital twin, verification.

Actuators never import a transport: the executor and the workflow engine call
tools through any object with ``call_tool(name, arguments)`` (an MCP client
session), and decisions and verification consume and produce plain records.
The digital twin (:class:`TelemetryTwin`) is built only from what a network
publishes on the bus (:class:`Inventory`: topology, calendar, alarms; the
telemetry; the detectors' baselines) and the documented effect model of each
tool (:func:`effect_model`).
"""

from actuators.approvals import Approval, ApprovalBook
from actuators.decide import Decider, Plan, action_id, plan
from actuators.effects import ToolEffect, effect_model
from actuators.engine import Run, WorkflowEngine
from actuators.executor import Executor, ToolCaller
from actuators.guards import GuardConfig, Guards
from actuators.inventory import Inventory
from actuators.policy import PolicyError, PolicyTable, Rule
from actuators.twin import TelemetryTwin, Twin
from actuators.twin_checks import TwinCheck, accuracy
from actuators.verify import Verifier
from actuators.workflow import Workflow

__all__ = [
    "Approval",
    "ApprovalBook",
    "Decider",
    "Executor",
    "GuardConfig",
    "Guards",
    "Inventory",
    "Plan",
    "PolicyError",
    "PolicyTable",
    "Rule",
    "Run",
    "TelemetryTwin",
    "ToolCaller",
    "ToolEffect",
    "Twin",
    "TwinCheck",
    "Verifier",
    "Workflow",
    "WorkflowEngine",
    "accuracy",
    "action_id",
    "effect_model",
    "plan",
]
