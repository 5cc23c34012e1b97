"""Matching layer of ledgerlink."""
