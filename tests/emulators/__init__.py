"""Local emulators of vendor services, faithful to their published behaviour (tests, benchmarks)."""
