"""The Beancount connector: a plain-text ledger file as the embedded default books."""
