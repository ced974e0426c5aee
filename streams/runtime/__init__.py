"""The loop running.

the embedded bus, the stages as thin adapters, perceive, the pipeline, the detect stage's bounded
per-shard state (shards), the tick window every keyed stream of ticks is checked by (ticks), the
embedded runtime, the control endpoint.
"""
