"""QuickBooks Online (Accounting API v3): writes customers and invoices; reads them and payments."""
