"""The commented starter configuration ``ledgerlink init`` writes."""

STARTER_CONFIG = """\
# ledgerlink configuration. `ledgerlink check` validates it; `ledgerlink config schema` prints
# its JSON Schema for editor completion. Values may use ${ENV_VAR} or ${ENV_VAR:-default}.
version: 1

# Where ledgerlink keeps links, cursors, runs, dead letters and the audit trail.
# A relative SQLite path is relative to this file; use postgresql://user@host/db to share it.
state: sqlite:///ledgerlink.db

connections:
  # Your CRM. Outlook's "Export to a file -> Comma Separated Values" works as is:
  crm:
    type: outlook_csv
    path: contacts.csv
  # Deals (opportunities) from any CRM as CSV or XLSX; see docs/connectors/csv.md for columns.
  sales:
    type: csv
    deals: deals.csv
    currency: USD
  # Your books. A Beancount ledger needs no server and no account.
  books:
    type: beancount
    path: books.beancount

pipes:
  - name: customers          # every contact becomes a customer
    from: crm.contacts
    to: books.customers
    # on_delete: deactivate  # a contact deleted in the CRM deactivates its customer
    # direction: two-way     # books edits flow back (needs a CRM that takes them: goldmine)
    # conflict: manual       # source-wins | target-wins | newest-wins | manual
  - name: invoices           # won deals become invoices (the default filter)
    from: sales.deals
    to: books.invoices
    # when: "status == 'won' and amount >= 100"
    # payment_terms_days: 30
    # fields:
    #   memo: {from: title, transform: [strip]}
"""
