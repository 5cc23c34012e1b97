"""ledgerlink keeps a business's CRM and its accounting books in agreement."""

__version__ = "0.1.0"
