"""Planning layer of ledgerlink."""
