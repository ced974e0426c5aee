"""The topic catalogue: every topic name on the bus, declared once.

Stages and tests refer to these constants; a topic name is never spelled as a
string literal elsewhere.
"""

from __future__ import annotations

TOPOLOGY = "netloop.topology"
TELEMETRY = "netloop.telemetry"
ANOMALIES = "netloop.anomalies"
INCIDENTS = "netloop.incidents"
ACTIONS = "netloop.actions"
ACTION_RESULTS = "netloop.action-results"
DECISIONS = "netloop.decisions"
DLQ = "netloop.dlq"
MAINTENANCE = "netloop.maintenance"
ALARMS = "netloop.alarms"

ALL_TOPICS: tuple[str, ...] = (
    TOPOLOGY,
    TELEMETRY,
    ANOMALIES,
    INCIDENTS,
    ACTIONS,
    ACTION_RESULTS,
    DECISIONS,
    DLQ,
    MAINTENANCE,
    ALARMS,
)

COMPACTED_TOPICS: frozenset[str] = frozenset({TOPOLOGY, MAINTENANCE})
