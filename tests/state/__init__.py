"""Tests of the state database."""
