"""Recording what crosses the bus and replaying it.

JSON Lines files, taps, Kafka record/replay, dry-run replay.
"""
