"""Writing safely: an invalid ledger is never touched, a failing one never written, nothing lost."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from beancount.core import data

from ledgerlink.connectors.beancount import settle as settle_module
from ledgerlink.errors import ConnectionFailedError, FatalError, RecordError, TransientError
from tests.connectors.beancount_support import acme, load_ok, make_connector, make_invoice, request

ACME = "Assets:Receivable:Acme-Ltd"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "beancount"


def _only_ledger_files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_an_invalid_ledger_is_refused_and_left_untouched(tmp_path: Path) -> None:
    ledger = tmp_path / "books.beancount"
    ledger.write_bytes((FIXTURES / "hand-edited-invalid.beancount").read_bytes())
    before = ledger.read_bytes()
    books = make_connector(tmp_path)

    with pytest.raises(FatalError) as caught:
        books.apply([request("customers", "cus-1", acme())])

    message = str(caught.value)
    assert f"{ledger}:9" in message
    assert "does not balance" in message
    assert f"bean-check {ledger}" in message
    assert "ledgerlink wrote nothing" in message
    assert ledger.read_bytes() == before
    assert _only_ledger_files(tmp_path) == {"books.beancount"}
    with pytest.raises(ConnectionFailedError, match="does not balance"):
        books.check()


def test_a_request_beancount_rejects_fails_alone(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    books.apply(
        [
            request("customers", "cus-1", acme()),
            request("customers", "cus-2", acme(display_name="Euro GmbH", currency="EUR")),
        ]
    )
    outcomes = books.apply(
        [
            request("invoices", "inv-1", make_invoice(number="A-1"), customer=ACME),
            request(
                "invoices",
                "inv-2",
                make_invoice(number="A-2"),
                customer="Assets:Receivable:Euro-GmbH",
            ),
            request("invoices", "inv-3", make_invoice(number="A-3"), customer=ACME),
        ]
    )

    assert [o.ok for o in outcomes] == [True, False, True]
    error = outcomes[1].error
    assert isinstance(error, RecordError)
    assert "Beancount rejects this invoice" in error.message
    assert "Invalid currency USD" in error.message
    links = {
        next(iter(e.links))
        for e in load_ok(tmp_path / "books.beancount")
        if isinstance(e, data.Transaction)
    }
    assert links == {"A-1", "A-3"}


def test_a_broken_balance_assertion_is_traced_to_the_request_that_broke_it(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    books.apply([request("customers", "cus-1", acme())])
    ledger = tmp_path / "books.beancount"
    ledger.write_text(ledger.read_text() + f"\n2026-12-31 balance {ACME}  0.00 USD\n")
    invoices = [
        make_invoice(number=f"B-{n}", issued=when)
        for n, when in enumerate(
            [
                date(2027, 1, 5),
                date(2027, 1, 6),
                date(2026, 5, 1),
                date(2027, 1, 7),
                date(2027, 2, 1),
            ]
        )
    ]
    outcomes = books.apply(
        [request("invoices", f"inv-{n}", inv, customer=ACME) for n, inv in enumerate(invoices)]
    )

    assert [o.ok for o in outcomes] == [True, True, False, True, True]
    assert "Balance failed" in str(outcomes[2].error)
    assert books.last_validations == 4  # the whole batch, two bisection steps, the final write
    written = [e for e in load_ok(ledger) if isinstance(e, data.Transaction)]
    assert len(written) == 4


def test_a_ledger_changed_during_the_write_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = make_connector(tmp_path)
    books.apply([request("customers", "cus-1", acme())])
    ledger = tmp_path / "books.beancount"
    persons_edit = ledger.read_text() + "\n; typed while ledgerlink was writing\n"
    real_load = settle_module.load_entries

    def load_while_a_person_saves(path: Path) -> Any:
        ledger.write_text(persons_edit)
        return real_load(path)

    monkeypatch.setattr(settle_module, "load_entries", load_while_a_person_saves)
    with pytest.raises(TransientError, match="changed while ledgerlink"):
        books.apply([request("customers", "cus-2", acme(display_name="Other"))])
    assert ledger.read_text() == persons_edit
    assert _only_ledger_files(tmp_path) == {"books.beancount"}


def test_included_files_are_read_but_never_written(tmp_path: Path) -> None:
    (tmp_path / "customers.beancount").write_text(
        '2020-01-01 open Assets:Receivable:Included-Co\n  ledgerlink: "cus-7"\n'
    )
    ledger = tmp_path / "books.beancount"
    ledger.write_text('include "customers.beancount"\n\n2020-01-01 open Income:Sales\n')
    included_before = (tmp_path / "customers.beancount").read_bytes()
    books = make_connector(tmp_path)

    assert {t.target_id for t in books.read_existing("customers")} == {
        "Assets:Receivable:Included-Co"
    }
    outcomes = books.apply(
        [
            request("customers", "cus-7", acme()),  # already there: idempotent
            request(
                "customers", "cus-7", acme(), "update", target_id="Assets:Receivable:Included-Co"
            ),
            request("customers", "cus-8", acme()),
        ]
    )
    assert outcomes[0].target_id == "Assets:Receivable:Included-Co"
    assert isinstance(outcomes[1].error, RecordError)
    assert "included file" in outcomes[1].error.message
    assert outcomes[2].target_id == ACME
    assert (tmp_path / "customers.beancount").read_bytes() == included_before
    assert ledger.read_text().startswith('include "customers.beancount"\n')
    load_ok(ledger)


def test_crlf_line_endings_and_a_missing_final_newline_are_kept(tmp_path: Path) -> None:
    ledger = tmp_path / "books.beancount"
    original = (
        b'; Windows books\r\noption "title" "Shop"\r\n\r\n2020-01-01 open Assets:Bank ; no newline'
    )
    ledger.write_bytes(original)
    make_connector(tmp_path).apply([request("customers", "cus-1", acme())])

    written = ledger.read_bytes()
    assert written.startswith(original + b"\r\n\r\n2000-01-01 open " + ACME.encode())
    assert b"\n" not in written.replace(b"\r\n", b"")
    load_ok(ledger)


def test_writes_leave_no_cache_or_temporary_files_and_keep_permissions(tmp_path: Path) -> None:
    ledger = tmp_path / "books.beancount"
    ledger.write_text("; mine\n")
    os.chmod(ledger, 0o640)
    books = make_connector(tmp_path)
    books.apply([request("customers", "cus-1", acme())])
    books.apply([request("invoices", "inv-1", make_invoice(), customer=ACME)])

    assert _only_ledger_files(tmp_path) == {"books.beancount"}
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o640


def test_a_symlinked_ledger_stays_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "books.beancount"
    target.write_text("; mine\n")
    (tmp_path / "books.beancount").symlink_to(target)
    make_connector(tmp_path).apply([request("customers", "cus-1", acme())])

    assert (tmp_path / "books.beancount").is_symlink()
    assert ACME in target.read_text()


def test_a_missing_ledger_is_created_or_reported(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    assert "does not exist yet" in books.check()
    assert list(books.read_existing("customers")) == []
    books.apply([request("customers", "cus-1", acme())])
    assert "1 customer account(s)" in books.check()
    assert load_ok(tmp_path / "books.beancount")

    strict = make_connector(tmp_path, filename="other.beancount", create=False)
    with pytest.raises(ConnectionFailedError, match="does not exist"):
        strict.apply([request("customers", "cus-1", acme())])
    nowhere = make_connector(tmp_path, filename="no/such/folder/books.beancount")
    with pytest.raises(ConnectionFailedError, match="folder"):
        nowhere.apply([request("customers", "cus-1", acme())])


def test_a_persons_multi_line_metadata_on_our_directive_survives_an_update(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    books.apply([request("customers", "cus-1", acme())])
    ledger = tmp_path / "books.beancount"
    note = '  history: "called twice\nthen paid"\n'
    ledger.write_text(
        ledger.read_text().replace('  kind: "company"\n', '  kind: "company"\n' + note)
    )
    books.apply([request("customers", "cus-1", acme(phone="+1 555"), "update", target_id=ACME)])

    assert note in ledger.read_text()
    [opened] = [e for e in load_ok(ledger) if isinstance(e, data.Open)]
    assert opened.meta["history"] == "called twice\nthen paid"
    assert opened.meta["phone"] == "+1 555"


def test_streams_it_does_not_write_fail_per_request(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    outcomes = books.apply(
        [request("items", "it-1", acme()), request("customers", "cus-1", acme())]
    )
    assert isinstance(outcomes[0].error, RecordError)
    assert outcomes[1].ok
    with pytest.raises(RecordError, match="no stream"):
        books.read("contacts", None)


def test_a_record_a_person_moved_out_of_sight_is_never_written_twice(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    books.apply([request("customers", "cus-1", acme())])
    books.apply([request("invoices", "inv-1", make_invoice(), customer=ACME)])
    ledger = tmp_path / "books.beancount"
    moved = (
        ledger.read_text()
        .replace("Assets:Receivable:Acme-Ltd", "Assets:Debtors:Acme")
        .replace(" ^INV-0001", "")
    )
    ledger.write_text(moved)

    outcomes = make_connector(tmp_path).apply(
        [request("customers", "cus-1", acme()), request("customers", "cus-2", acme())]
    )
    assert isinstance(outcomes[0].error, RecordError)
    assert "already in the ledger at" in outcomes[0].error.message
    assert outcomes[1].ok
    [invoice] = make_connector(tmp_path).apply(
        [request("invoices", "inv-1", make_invoice(), customer=outcomes[1].target_id)]
    )
    assert isinstance(invoice.error, RecordError)
    assert len([e for e in load_ok(ledger) if isinstance(e, data.Transaction)]) == 1
