"""Cli layer of ledgerlink."""
