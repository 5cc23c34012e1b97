"""Outlook contacts: the desktop CSV export and vCard files."""
