"""Reliability tests: SIGKILL at seeded crash points, and a model-based state machine."""
