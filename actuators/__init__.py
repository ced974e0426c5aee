"""Deciding and acting safely: policies, workflows, guards, approvals, the twin seam, verification.

Actuators never import a transport: the executor and the workflow engine call
tools through any object with ``call_tool(name, arguments)`` (an MCP client
session), and decisions and verification consume and produce plain records.
"""

from actuators.approvals import Approval, ApprovalBook
from actuators.decide import Decider, Plan, action_id, plan
from actuators.engine import Run, WorkflowEngine
from actuators.executor import Executor, ToolCaller
from actuators.guards import GuardConfig, Guards
from actuators.policy import PolicyError, PolicyTable, Rule
from actuators.twin import Twin
from actuators.verify import Verifier
from actuators.workflow import Workflow

__all__ = [
    "Approval",
    "ApprovalBook",
    "Decider",
    "Executor",
    "GuardConfig",
    "Guards",
    "Plan",
    "PolicyError",
    "PolicyTable",
    "Rule",
    "Run",
    "ToolCaller",
    "Twin",
    "Verifier",
    "Workflow",
    "WorkflowEngine",
    "action_id",
    "plan",
]
