"""`netloop bench`.

the hot paths (detectors, loop, Kafka, NetMCP), each beside a baseline measured in the same run.
"""
