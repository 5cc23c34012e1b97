"""Config layer of ledgerlink."""
