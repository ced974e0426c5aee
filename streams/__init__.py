"""Wiring: the bus, the stages as thin adapters, the runtimes, metrics, the report and the CLI.

Only this package knows about transports. Sub-packages by concept:
``streams.runtime`` (the embedded bus, the stages, the embedded runtime),
``streams.kafka`` (faust agents, topics, recovery, emulator),
``streams.tools`` (NetMCP wiring), ``streams.recording`` (record and replay),
``streams.evaluate`` (run reports, outside data, episodes), ``streams.bench``,
and ``streams.cli`` (the ``netloop`` command). ``streams.app`` is the module-level
faust app; ``streams.settings``, ``streams.metrics``, ``streams.audit`` and
``streams.view`` serve them all.
"""
