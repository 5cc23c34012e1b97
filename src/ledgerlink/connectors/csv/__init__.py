"""The generic CSV/XLSX source connector."""
