"""Sync layer of ledgerlink."""
