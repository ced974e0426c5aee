"""The loop on Kafka: faust agents, tick marks checked like data, topic catalogue, worker recovery, the
emulator, a test broker."""
