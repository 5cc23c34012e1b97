"""Canonical layer of ledgerlink."""
