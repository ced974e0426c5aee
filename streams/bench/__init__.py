"""`netloop bench`.

the hot paths (detectors, loop, Kafka, NetMCP), each beside a baseline measured in the same run; and
the loop under hostile records (fuzz beside a clean run, soak with memory over time).
"""
