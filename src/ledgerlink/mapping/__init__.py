"""Mapping layer of ledgerlink."""
