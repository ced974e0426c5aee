"""The loop on Kafka: faust agents, topic catalogue, worker recovery, the emulator, a test broker."""
