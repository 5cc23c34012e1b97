"""Beancount invoices: balanced transactions per line and tax rate, voids, payments read back."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from beancount.core import data

from ledgerlink.canonical.records import Invoice, Payment
from ledgerlink.connectors.beancount.connector import BeancountConnector
from ledgerlink.errors import RecordError
from tests.connectors.beancount_support import (
    acme,
    load_ok,
    make_connector,
    make_invoice,
    request,
)

ACME = "Assets:Receivable:Acme-Ltd"


def _books(tmp_path: Path, code: str = "USD", **settings: object) -> BeancountConnector:
    books = make_connector(tmp_path, currency=code, **settings)
    [created] = books.apply([request("customers", "cus-1", acme(currency=code))])
    assert created.target_id == ACME
    return books


def _transactions(path: Path) -> list[data.Transaction]:
    return [e for e in load_ok(path) if isinstance(e, data.Transaction)]


def _postings(txn: data.Transaction) -> list[tuple[str, Decimal, str]]:
    return [(p.account, p.units.number, p.units.currency) for p in txn.postings]


def test_invoice_posts_receivable_income_per_line_and_tax_per_rate(tmp_path: Path) -> None:
    books = _books(tmp_path, item_accounts={"TRAVEL": "Income:Travel"})
    invoice = make_invoice(
        [
            ("Consulting", "3", "100", "0.10"),
            ("Train", "1", "45.50", "0"),
            ("Books", "2", "9.99", "0.05"),
        ],
        skus=["", "TRAVEL", ""],
    )
    [outcome] = books.apply([request("invoices", "inv-1", invoice, customer=ACME)])

    assert outcome.ok
    assert outcome.target_id == "INV-0001"
    [txn] = _transactions(tmp_path / "books.beancount")
    assert (txn.payee, txn.narration, txn.links) == ("Acme Ltd.", "Invoice INV-0001", {"INV-0001"})
    assert txn.meta["due_date"] == date(2026, 3, 31)
    assert _postings(txn) == [
        (ACME, Decimal("396.48"), "USD"),
        ("Income:Sales", Decimal("-300.00"), "USD"),
        ("Income:Travel", Decimal("-45.50"), "USD"),
        ("Income:Sales", Decimal("-19.98"), "USD"),
        ("Liabilities:SalesTax", Decimal("-30.00"), "USD"),
        ("Liabilities:SalesTax", Decimal("-1.00"), "USD"),
    ]
    assert sum(p.units.number for p in txn.postings) == 0
    [existing] = books.read_existing("invoices")
    assert existing.record == dataclasses.replace(invoice, customer_key=ACME)
    assert existing.ledgerlink_id == "inv-1"


@pytest.mark.parametrize(
    ("code", "price", "rate", "total"),
    [("JPY", "1999", "0.08", Decimal("2159")), ("KWD", "12.345", "0.05", Decimal("12.962"))],
)
def test_zero_and_three_decimal_currencies_balance_exactly(
    tmp_path: Path, code: str, price: str, rate: str, total: Decimal
) -> None:
    books = _books(tmp_path, code)
    invoice = make_invoice([("Widget", "1", price, rate)], code)
    [outcome] = books.apply([request("invoices", "inv-1", invoice, customer=ACME)])

    assert outcome.ok
    [txn] = _transactions(tmp_path / "books.beancount")
    assert txn.postings[0].units.number == total
    assert {p.units.currency for p in txn.postings} == {code}
    assert sum(p.units.number for p in txn.postings) == 0
    assert str(txn.postings[0].units.number) == str(total)  # written at the currency's precision


def test_amounts_finer_than_the_currency_are_refused(tmp_path: Path) -> None:
    books = _books(tmp_path, "JPY")
    invoice = dataclasses.replace(make_invoice([("Widget", "1", "100", "0")], "JPY"))
    line = dataclasses.replace(invoice.lines[0], amount=Decimal("100.5"))
    bad = dataclasses.replace(
        invoice, lines=(line,), subtotal=Decimal("100.5"), total=Decimal("100.5")
    )
    [outcome] = books.apply([request("invoices", "inv-1", bad, customer=ACME)])
    assert isinstance(outcome.error, RecordError)
    assert "more decimals than JPY allows" in outcome.error.message


def test_an_invoice_that_does_not_add_up_is_refused(tmp_path: Path) -> None:
    books = _books(tmp_path)
    invoice = dataclasses.replace(make_invoice(), total=Decimal("330.01"))
    [outcome] = books.apply([request("invoices", "inv-1", invoice, customer=ACME)])
    assert isinstance(outcome.error, RecordError)
    assert "does not add up" in outcome.error.message
    assert _transactions(tmp_path / "books.beancount") == []


def test_a_retried_invoice_create_writes_one_transaction(tmp_path: Path) -> None:
    books = _books(tmp_path)
    first = books.apply([request("invoices", "inv-1", make_invoice(), customer=ACME)])
    again = make_connector(tmp_path).apply(
        [request("invoices", "inv-1", make_invoice(), customer=ACME)] * 2
    )
    assert [o.target_id for o in first + again] == ["INV-0001"] * 3
    assert len(_transactions(tmp_path / "books.beancount")) == 1


def test_a_second_invoice_with_the_same_number_gets_its_own_link(tmp_path: Path) -> None:
    books = _books(tmp_path)
    outcomes = books.apply(
        [
            request("invoices", "inv-1", make_invoice(), customer=ACME),
            request("invoices", "inv-2", make_invoice(), customer=ACME),
            request("invoices", "inv-3", make_invoice(number="Nº 7/2026 (draft)"), customer=ACME),
            request("invoices", "inv-4", make_invoice(number=""), customer=ACME),
        ]
    )
    assert [o.target_id for o in outcomes] == ["INV-0001", "INV-0001-2", "N-7/2026-draft", "inv-4"]


def test_invoice_without_a_customer_or_for_a_closed_one_is_a_record_error(tmp_path: Path) -> None:
    books = _books(tmp_path)
    books.apply([request("customers", "cus-1", acme(), "deactivate", target_id=ACME)])
    outcomes = books.apply(
        [
            request("invoices", "inv-1", make_invoice()),
            request("invoices", "inv-2", make_invoice(), customer=ACME),
            request("invoices", "inv-3", make_invoice(), customer="Assets:Receivable:Nobody"),
        ]
    )
    messages = [o.error.message if o.error else "" for o in outcomes]
    assert "no customer in the books" in messages[0]
    assert "is closed" in messages[1]
    assert "is not in the ledger" in messages[2]


def test_update_replaces_the_transaction_in_place(tmp_path: Path) -> None:
    books = _books(tmp_path)
    books.apply([request("invoices", "inv-1", make_invoice(), customer=ACME)])
    ledger = tmp_path / "books.beancount"
    text = ledger.read_text()
    text = text.replace(
        '  invoice_number: "INV-0001"\n', '  invoice_number: "INV-0001"\n  po: "PO-7"\n'
    )
    tail = "\n; payments below are typed by hand\n"
    ledger.write_text(text + tail)

    changed = make_invoice([("Consulting", "4", "100", "0.10")])
    [outcome] = books.apply(
        [request("invoices", "inv-1", changed, "update", target_id="INV-0001", customer=ACME)]
    )
    assert outcome.ok
    after = ledger.read_text()
    assert after.endswith(tail)
    assert after.startswith(text.split("2026-03-01 *")[0])
    [txn] = _transactions(ledger)
    assert txn.meta["po"] == "PO-7"
    assert txn.postings[0].units.number == Decimal("440.00")


def test_a_hand_entered_invoice_is_listed_but_not_rewritten(tmp_path: Path) -> None:
    books = _books(tmp_path)
    ledger = tmp_path / "books.beancount"
    ledger.write_text(
        ledger.read_text() + "\n2000-01-01 open Income:Sales\n"
        '2026-02-01 * "Acme" "Invoice 17" ^INV-17\n'
        f"  {ACME}  100.00 USD\n  Income:Sales\n"
    )
    [listed] = books.read_existing("invoices")
    assert (listed.target_id, listed.ledgerlink_id, listed.record.total) == (
        "INV-17",
        "",
        Decimal("100.00"),
    )
    before = ledger.read_bytes()
    [outcome] = books.apply(
        [request("invoices", "inv-1", make_invoice(), "update", target_id="INV-17", customer=ACME)]
    )
    assert isinstance(outcome.error, RecordError)
    assert "entered by hand" in outcome.error.message
    assert ledger.read_bytes() == before


def test_void_appends_a_reversal_and_reads_back_void(tmp_path: Path) -> None:
    books = _books(tmp_path)
    books.apply([request("invoices", "inv-1", make_invoice(), customer=ACME)])
    void = request("invoices", "inv-1", make_invoice(), "void", target_id="INV-0001")
    assert books.apply([void])[0].ok
    assert books.apply([void])[0].ok  # a second void is a no-op

    original, reversal = _transactions(tmp_path / "books.beancount")
    assert reversal.tags == {"void"}
    assert reversal.links == {"INV-0001"}
    assert reversal.date == date(2026, 6, 1)
    assert _postings(reversal) == [(a, -n, c) for a, n, c in _postings(original)]
    [listed] = books.read_existing("invoices")
    assert listed.record.status == "void"
    update = request("invoices", "inv-1", make_invoice(), "update", target_id="INV-0001")
    assert "is void" in str(books.apply([update])[0].error)


def test_payments_typed_by_a_person_are_read_and_settle_the_invoice(tmp_path: Path) -> None:
    books = _books(tmp_path)
    books.apply(
        [
            request("invoices", "inv-1", make_invoice(), customer=ACME),
            request("invoices", "inv-2", make_invoice(number="INV-0002"), customer=ACME),
        ]
    )
    ledger = tmp_path / "books.beancount"
    ledger.write_text(
        ledger.read_text() + "\n2000-01-01 open Assets:Bank\n\n"
        '2026-03-10 * "Acme" "Payment" ^INV-0001\n'
        "  Assets:Bank  330.00 USD\n"
        f"  {ACME}  -330.00 USD\n\n"
        '2026-03-12 * "Acme" "Part payment"\n'
        '  invoice: "INV-0002"\n'
        "  Assets:Bank  100.00 USD\n"
        f"  {ACME}\n"
    )
    payments = [c.load() for c in books.read("payments", None) if hasattr(c, "load")]
    assert payments == [
        Payment("INV-0001", Decimal("330.00"), "USD", date(2026, 3, 10), "Payment", ACME),
        Payment("INV-0002", Decimal("100.00"), "USD", date(2026, 3, 12), "Part payment", ACME),
    ]
    statuses = {
        c.key: c.load().status  # type: ignore[union-attr]
        for c in books.read("invoices", None)
        if hasattr(c, "load")
    }
    assert statuses == {"INV-0001": "paid", "INV-0002": "issued"}


def test_reads_resume_from_a_cursor_and_see_changes(tmp_path: Path) -> None:
    books = _books(tmp_path)
    books.apply([request("invoices", "inv-1", make_invoice(), customer=ACME)])
    first = books.read("invoices", None)
    assert len(list(first)) == 1
    assert list(books.read("invoices", first.cursor())) == []
    books.apply([request("invoices", "inv-2", make_invoice(number="INV-0002"), customer=ACME)])
    assert len(list(books.read("invoices", first.cursor()))) == 2


def test_draft_invoices_are_flagged_pending(tmp_path: Path) -> None:
    books = _books(tmp_path)
    draft = dataclasses.replace(make_invoice(), status="draft")
    books.apply([request("invoices", "inv-1", draft, customer=ACME)])
    [txn] = _transactions(tmp_path / "books.beancount")
    assert txn.flag == "!"
    [listed] = books.read_existing("invoices")
    assert isinstance(listed.record, Invoice)
    assert listed.record.status == "draft"


def test_payments_kept_in_an_included_file_are_seen_by_an_incremental_read(
    tmp_path: Path,
) -> None:
    bank = tmp_path / "bank.beancount"
    bank.write_text("2000-01-01 open Assets:Bank\n")
    ledger = tmp_path / "books.beancount"
    ledger.write_text('include "bank.beancount"\n')
    books = _books(tmp_path)
    books.apply([request("invoices", "inv-1", make_invoice(), customer=ACME)])
    first = books.read("payments", None)
    assert list(first) == []

    with bank.open("a") as handle:
        handle.write(
            f'\n2026-03-10 * "Acme" "Wire" ^INV-0001\n  Assets:Bank  330.00 USD\n  {ACME}\n'
        )
    [change] = books.read("payments", first.cursor())
    assert change.load() == Payment(  # type: ignore[union-attr]
        "INV-0001", Decimal("330.00"), "USD", date(2026, 3, 10), "Wire", ACME
    )
    assert ledger.read_text().startswith('include "bank.beancount"\n')


def test_an_invoice_a_person_moved_is_updated_where_it_now_is(tmp_path: Path) -> None:
    books = _books(tmp_path)
    books.apply([request("invoices", "inv-1", make_invoice(), customer=ACME)])
    ledger = tmp_path / "books.beancount"
    head, invoice = ledger.read_text().split("\n2026-03-01 *")
    reordered = "; moved to the top\n2026-03-01 *" + invoice + "\n" + head
    ledger.write_text(reordered)

    changed = make_invoice([("Consulting", "5", "100", "0.10")])
    books.apply([request("invoices", "inv-1", changed, "update", target_id="INV-0001")])

    text = ledger.read_text()
    assert text.startswith("; moved to the top\n2026-03-01 *")
    assert text.endswith(head)
    assert _transactions(ledger)[0].postings[0].units.number == Decimal("550.00")
