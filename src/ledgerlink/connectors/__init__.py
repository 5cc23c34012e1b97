"""Connectors layer of ledgerlink."""
