"""The loop running.

the embedded bus, the stages as thin adapters, perceive, the pipeline, the embedded runtime, the
control endpoint.
"""
