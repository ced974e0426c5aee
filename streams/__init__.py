"""Wiring: the bus, the stages as thin adapters, the runtimes, metrics, the report and the CLI.

Only this package knows about transports. ``streams.embedded`` runs the
simulator, the NetMCP server and every stage in one process on a bounded
in-memory bus; ``streams.cli`` is the ``netloop`` command.
"""
