"""Unusual requests: wrong actions or records, several writes to one directive in a batch."""

from __future__ import annotations

from pathlib import Path

from beancount.core import data

from ledgerlink.errors import RecordError
from tests.connectors.beancount_support import acme, load_ok, make_connector, make_invoice, request

ACME = "Assets:Receivable:Acme-Ltd"


def test_actions_and_records_the_books_do_not_take_fail_alone(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    outcomes = books.apply(
        [
            request("customers", "c1", acme(), "void", target_id=ACME),
            request("customers", "c2", make_invoice()),
            request("customers", "c3", acme(display_name="Bad \udc80 surrogate")),
            request("customers", "c4", acme()),
        ]
    )
    errors = [str(o.error) if o.error else "" for o in outcomes]
    assert "cannot void customers" in errors[0]
    assert "expected a customer, got Invoice" in errors[1]
    assert "cannot be written as UTF-8" in errors[2]
    assert outcomes[3].target_id == ACME
    assert outcomes[0].error is not None
    assert outcomes[0].error.context.system == "beancount"
    assert outcomes[0].error.context.record == "c1"
    invoice = books.apply([request("invoices", "i1", acme(), customer=ACME)])[0]
    assert "expected an invoice, got Customer" in str(invoice.error)


def test_two_updates_of_one_customer_in_a_batch_leave_the_last(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    books.apply([request("customers", "c1", acme())])
    outcomes = books.apply(
        [
            request("customers", "c1", acme(phone="+1 111"), "update", target_id=ACME),
            request("customers", "c1", acme(phone="+1 222"), "update", target_id=ACME),
        ]
    )
    assert [o.target_id for o in outcomes] == [ACME, ACME]
    [opened] = [e for e in load_ok(tmp_path / "books.beancount") if isinstance(e, data.Open)]
    assert opened.meta["phone"] == "+1 222"


def test_an_account_stamped_for_another_record_is_not_updated(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    books.apply([request("customers", "c1", acme())])
    [outcome] = books.apply([request("customers", "c2", acme(), "update", target_id=ACME)])
    assert isinstance(outcome.error, RecordError)
    assert "belongs to another ledgerlink record (c1)" in outcome.error.message


def test_inactive_customers_are_written_closed(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    books.apply(
        [
            request("customers", "c1", acme(active=False)),
            request("customers", "c2", acme(display_name="Beta")),
        ]
    )
    books.apply(
        [
            request(
                "customers",
                "c2",
                acme(display_name="Beta", active=False),
                "update",
                target_id="Assets:Receivable:Beta",
            )
        ]
    )
    listed = {t.target_id: t.record.active for t in books.read_existing("customers")}  # type: ignore[union-attr]
    assert listed == {ACME: False, "Assets:Receivable:Beta": False}


def test_voids_in_one_batch_and_of_missing_invoices(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    books.apply([request("customers", "c1", acme())])
    books.apply([request("invoices", "i1", make_invoice(), customer=ACME)])
    void = request("invoices", "i1", make_invoice(), "void", target_id="INV-0001")
    missing = request("invoices", "i9", make_invoice(), "void", target_id="INV-9")
    outcomes = books.apply([void, void, missing])
    assert [o.ok for o in outcomes] == [True, True, False]
    assert "is not in the ledger" in str(outcomes[2].error)
    txns = [e for e in load_ok(tmp_path / "books.beancount") if isinstance(e, data.Transaction)]
    assert len(txns) == 2
