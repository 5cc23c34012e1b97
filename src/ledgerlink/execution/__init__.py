"""Execution layer of ledgerlink."""
