"""Deciding and acting: the policy table, planning, the executor, and verification.

Actuators never import a transport: the executor calls tools through any
object with ``call_tool(name, arguments)`` (an MCP client session), and
verification consumes plain records.
"""

from actuators.decide import Plan, plan
from actuators.executor import Executor, ToolCaller
from actuators.policy import PolicyError, PolicyTable, Rule
from actuators.verify import Verifier

__all__ = [
    "Executor",
    "Plan",
    "PolicyError",
    "PolicyTable",
    "Rule",
    "ToolCaller",
    "Verifier",
    "plan",
]
