"""Bundled sample data for `ledgerlink demo`."""
