"""Properties of the Beancount connector over generated names, strings and invoices."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import data
from beancount.parser import parser
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerlink.connectors.beancount.index import InvoiceEntry
from ledgerlink.connectors.beancount.names import account_segment, link_for
from ledgerlink.connectors.beancount.render import OpenSpec, quote
from ledgerlink.connectors.beancount.translate import (
    InvoiceAccounts,
    entry_invoice,
    invoice_transaction,
)
from tests.connectors.beancount_support import acme, make_connector, make_invoice, request

# Any Unicode text a CRM might hold, except lone surrogates (not encodable) and NUL (dropped).
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
ACCOUNTS = InvoiceAccounts("Income:Sales", "Liabilities:SalesTax", {}, "USD")
HEADER = (
    "2000-01-01 open Assets:Receivable:Acme\n"
    "2000-01-01 open Income:Sales\n"
    "2000-01-01 open Liabilities:SalesTax\n"
)


def _parse(text: str) -> list[data.Directive]:
    entries, errors, _ = parser.parse_string(text)
    assert errors == [], [e.message for e in errors]
    return list(entries)


@given(TEXT)
def test_any_string_reads_back_exactly(text: str) -> None:
    [opened] = _parse(f"2000-01-01 open Assets:Cash\n  note: {quote(text)}\n")
    assert opened.meta["note"] == text


@given(TEXT)
def test_any_display_name_gives_an_account_beancount_accepts(name: str) -> None:
    account = f"Assets:Receivable:{account_segment(name)}"
    [opened] = _parse("\n".join(OpenSpec(date(2000, 1, 1), account).lines()) + "\n")
    assert opened.account == account


@given(TEXT, TEXT)
def test_any_invoice_number_gives_a_valid_link(number: str, ledgerlink_id: str) -> None:
    link = link_for(number, ledgerlink_id)
    [txn] = _parse(f'2000-01-01 * "x" ^{link}\n  Assets:A  1 USD\n  Assets:B  -1 USD\n')
    assert txn.links == {link}


QUANTITY = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(500), places=3)
PRICE = st.decimals(min_value=Decimal(-1000), max_value=Decimal(100000), places=4)
RATE = st.sampled_from(["0", "0.05", "0.075", "0.10", "0.19", "0.2"])
LINES = st.lists(st.tuples(TEXT, QUANTITY, PRICE, RATE), min_size=0, max_size=8)


@settings(max_examples=150, deadline=None)
@given(LINES, st.sampled_from(["USD", "JPY", "KWD", "EUR"]))
def test_any_invoice_renders_a_balanced_transaction_the_loader_accepts(
    lines: list[tuple[str, Decimal, Decimal, str]], code: str
) -> None:
    invoice = make_invoice([(d, str(q), str(p), r) for d, q, p, r in lines], code)
    spec = invoice_transaction(
        invoice,
        ledgerlink_id="inv-1",
        link="INV-1",
        customer_account="Assets:Receivable:Acme",
        payee='Acme "Q" Ltd',
        accounts=ACCOUNTS,
    )
    assert spec.balance() == 0
    entries, errors, _ = loader.load_string(HEADER + "\n".join(spec.lines()) + "\n")
    assert errors == [], [e.message for e in errors]
    [txn] = [e for e in entries if isinstance(e, data.Transaction)]
    entry = InvoiceEntry("INV-1", txn, "Assets:Receivable:Acme", invoice.total, code)
    read_back = entry_invoice(entry, ACCOUNTS.tax)
    assert read_back == dataclasses.replace(invoice, customer_key="Assets:Receivable:Acme")


@settings(max_examples=25, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_any_batch_of_customers_is_written_once_and_reads_back(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        books = make_connector(Path(folder))
        customers = [acme(display_name=name, notes=name) for name in names]
        requests = [request("customers", f"cus-{n}", c) for n, c in enumerate(customers)]
        outcomes = books.apply(requests)
        again = make_connector(Path(folder)).apply(requests)

        assert all(o.ok for o in outcomes)
        assert [o.target_id for o in again] == [o.target_id for o in outcomes]
        assert len({o.target_id for o in outcomes}) == len(names)
        listed = {t.ledgerlink_id: t.record for t in books.read_existing("customers")}
        assert {k: c.notes for k, c in listed.items()} == {
            f"cus-{n}": name for n, name in enumerate(names)
        }
        for n, name in enumerate(names):
            assert listed[f"cus-{n}"].display_name == name or not name
