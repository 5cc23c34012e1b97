"""State layer of ledgerlink."""
