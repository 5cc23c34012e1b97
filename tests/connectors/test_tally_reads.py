"""Reading Tally back: incremental by AlterID, deletions, receipts as payments, invoice status."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from ledgerlink.canonical.records import Change, Customer, Invoice, Payment, ReadFailure
from ledgerlink.connectors.base import StreamRead, WriteRequest
from ledgerlink.connectors.tally.connector import TallyConnector
from tests.emulators.tally import TallyEmulator, new_company
from tests.emulators.tally.samples import (
    KARNATAKA_GSTIN,
    connector,
    create_customer,
    create_invoice,
    customer,
    invoice,
    ll_id,
)


def hand_receipt(party: str, bill: str, amount: str, number: str = "R/1") -> str:
    """A Receipt as a person enters it in Tally, settling ``bill``."""
    return (
        f'<VOUCHER VCHTYPE="Receipt" ACTION="Create"><DATE>20250502</DATE>'
        f"<VOUCHERTYPENAME>Receipt</VOUCHERTYPENAME><VOUCHERNUMBER>{number}</VOUCHERNUMBER>"
        f"<PARTYLEDGERNAME>{party}</PARTYLEDGERNAME>"
        f"<ALLLEDGERENTRIES.LIST><LEDGERNAME>{party}</LEDGERNAME>"
        f"<ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE><AMOUNT>{amount}</AMOUNT>"
        f"<BILLALLOCATIONS.LIST><NAME>{bill}</NAME><BILLTYPE>Agst Ref</BILLTYPE>"
        f"<AMOUNT>{amount}</AMOUNT></BILLALLOCATIONS.LIST></ALLLEDGERENTRIES.LIST>"
        f"<ALLLEDGERENTRIES.LIST><LEDGERNAME>Cash</LEDGERNAME>"
        f"<ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE><AMOUNT>-{amount}</AMOUNT>"
        f"</ALLLEDGERENTRIES.LIST></VOUCHER>"
    )


def records(read: StreamRead) -> dict[str, object]:
    """Key → record (or "deleted") of everything a read yields."""
    found: dict[str, object] = {}
    for item in read:
        assert isinstance(item, Change)
        found[item.key] = "deleted" if item.deleted else item.load()
    return found


@pytest.fixture
def emulator() -> TallyEmulator:
    return TallyEmulator()


@pytest.fixture
def books(emulator: TallyEmulator) -> TallyConnector:
    books = connector(emulator)
    books.apply(
        [
            create_customer(1, customer("Mumbai Mart", state="Maharashtra")),
            create_customer(2, customer("Bharat Traders", gstin=KARNATAKA_GSTIN, state="KA")),
        ]
    )
    books.apply(
        [
            create_invoice(3, invoice(["100"], number="SL/1"), "Mumbai Mart"),
            create_invoice(4, invoice(["200"], number="SL/2"), "Bharat Traders"),
        ]
    )
    return books


def test_invoices_read_back_with_their_gst_and_totals(books: TallyConnector) -> None:
    found = records(books.read("invoices", None))
    first = found[ll_id(3)]
    assert isinstance(first, Invoice)
    assert (first.customer_key, first.number, first.total, first.status) == (
        "Mumbai Mart", "SL/1", Decimal("118.00"), "issued",
    )  # fmt: skip
    assert [(t.rate, t.amount) for t in first.tax_lines] == [(Decimal(18), Decimal("18.00"))]
    assert first.due_date == date(2025, 5, 15)
    second = found[ll_id(4)]
    assert isinstance(second, Invoice)
    assert second.tax_total == Decimal("36.00")


def test_nothing_changed_reads_nothing_and_only_small_lists(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    for stream in ("invoices", "payments", "customers"):
        cursor = books.read(stream, None).cursor()
        again = books.read(stream, cursor)
        assert list(again) == []
        assert again.cursor() == cursor


def test_only_what_changed_since_the_cursor_is_read(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    cursor = books.read("invoices", None).cursor()
    books.apply([create_invoice(5, invoice(["300"], number="SL/3"), "Mumbai Mart")])
    stored = emulator.company().vouchers[ll_id(3)].node
    children = "".join(
        etree.tostring(child, encoding="unicode") for child in stored if child.tag != "NARRATION"
    )
    emulator.import_xml(
        f'<VOUCHER REMOTEID="{ll_id(3)}" ACTION="Alter">{children}'
        "<NARRATION>Corrected by the accountant</NARRATION></VOUCHER>"
    )
    changed = records(books.read("invoices", cursor))
    assert set(changed) == {ll_id(3), ll_id(5)}
    corrected = changed[ll_id(3)]
    assert isinstance(corrected, Invoice)
    assert corrected.memo == "Corrected by the accountant"


def test_a_voucher_deleted_in_tally_is_read_as_a_deletion(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    cursor = books.read("invoices", None).cursor()
    counts = emulator.import_xml(
        f'<VOUCHER REMOTEID="{ll_id(4)}" VCHTYPE="Sales" ACTION="Delete"/>'
    )
    assert counts.deleted == 1
    assert records(books.read("invoices", cursor)) == {ll_id(4): "deleted"}


def test_receipts_flow_back_as_payments_against_the_invoice(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    cursor = books.read("payments", None).cursor()
    invoices_cursor = books.read("invoices", None).cursor()
    emulator.import_xml(hand_receipt("Mumbai Mart", "SL/1", "50.00"))
    found = records(books.read("payments", cursor))
    [(key, payment)] = found.items()
    assert key.endswith("#SL/1")
    assert payment == Payment(
        invoice_ref=ll_id(3),
        amount=Decimal("50.00"),
        currency="INR",
        paid_on=date(2025, 5, 2),
        reference="R/1",
        customer_ref="Mumbai Mart",
    )
    partly = records(books.read("invoices", invoices_cursor))
    assert {k: getattr(v, "status", v) for k, v in partly.items()}[ll_id(3)] == "issued"
    emulator.import_xml(hand_receipt("Mumbai Mart", "SL/1", "68.00", number="R/2"))
    settled = records(books.read("invoices", invoices_cursor))
    paid = settled[ll_id(3)]
    assert isinstance(paid, Invoice)
    assert paid.status == "paid"


def test_a_deleted_receipt_takes_its_payment_back(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    emulator.import_xml(hand_receipt("Mumbai Mart", "SL/1", "118.00"))
    first = books.read("payments", None)
    [key] = records(first)
    guid = key.split("#")[0]
    emulator.import_xml(f'<VOUCHER REMOTEID="{guid}" ACTION="Delete"/>')
    assert records(books.read("payments", first.cursor())) == {key: "deleted"}


def test_a_voided_invoice_reads_back_as_void(books: TallyConnector) -> None:
    record = invoice(["100"], number="SL/1")
    void = WriteRequest(
        "void", "invoices", ll_id(3), "k", replace(record, status="void"),
        target_id=ll_id(3), references={"customer": "Mumbai Mart"},
    )  # fmt: skip
    assert books.apply([void])[0].ok
    voided = records(books.read("invoices", None))[ll_id(3)]
    assert isinstance(voided, Invoice)
    assert voided.status == "void"


def test_existing_customers_include_hand_made_ledgers_for_first_sync_matching(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    emulator.import_xml(
        '<LEDGER NAME="Kumar Stores"><PARENT>Sundry Debtors</PARENT>'
        "<PARTYGSTIN>27AAPFU0939F1ZV</PARTYGSTIN><LEDSTATENAME>Maharashtra</LEDSTATENAME></LEDGER>"
        '<GROUP NAME="Export Debtors"><PARENT>Sundry Debtors</PARENT></GROUP>'
        '<LEDGER NAME="Globex GmbH"><PARENT>Export Debtors</PARENT>'
        "<COUNTRYNAME>Germany</COUNTRYNAME></LEDGER>"
        '<LEDGER NAME="Office Rent"><PARENT>Indirect Expenses</PARENT></LEDGER>'
    )
    found = {t.target_id: t for t in books.read_existing("customers")}
    assert set(found) == {"Mumbai Mart", "Bharat Traders", "Kumar Stores", "Globex GmbH"}
    assert found["Kumar Stores"].ledgerlink_id == ""
    assert found["Mumbai Mart"].ledgerlink_id == ll_id(1)
    kumar = found["Kumar Stores"].record
    assert isinstance(kumar, Customer)
    assert kumar.tax_id == "27AAPFU0939F1ZV"


def test_existing_invoices_carry_ledgerlinks_id_only_for_its_own(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    emulator.import_xml(
        '<VOUCHER VCHTYPE="Sales" ACTION="Create"><DATE>20250401</DATE>'
        "<VOUCHERTYPENAME>Sales</VOUCHERTYPENAME><VOUCHERNUMBER>OLD/1</VOUCHERNUMBER>"
        "<PARTYLEDGERNAME>Mumbai Mart</PARTYLEDGERNAME>"
        "<ALLLEDGERENTRIES.LIST><LEDGERNAME>Mumbai Mart</LEDGERNAME>"
        "<ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE><AMOUNT>-500.00</AMOUNT></ALLLEDGERENTRIES.LIST>"
        "<ALLLEDGERENTRIES.LIST><LEDGERNAME>Sales</LEDGERNAME>"
        "<ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE><AMOUNT>500.00</AMOUNT></ALLLEDGERENTRIES.LIST>"
        "</VOUCHER>"
    )
    found = {
        t.record.number: t for t in books.read_existing("invoices") if isinstance(t.record, Invoice)
    }
    assert found["SL/1"].ledgerlink_id == ll_id(3)
    assert found["OLD/1"].ledgerlink_id == ""
    assert found["OLD/1"].record.total == Decimal("500.00")  # type: ignore[union-attr]


def test_a_ledger_renamed_by_hand_reads_as_new_key_and_old_key_deleted(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    cursor = books.read("customers", None).cursor()
    emulator.import_xml(
        '<LEDGER NAME="Mumbai Mart" ACTION="Alter"><NAME.LIST><NAME>Mumbai Mart LLP</NAME>'
        "</NAME.LIST></LEDGER>"
    )
    changed = records(books.read("customers", cursor))
    assert changed["Mumbai Mart"] == "deleted"
    renamed = changed["Mumbai Mart LLP"]
    assert isinstance(renamed, Customer)
    assert set(changed) == {"Mumbai Mart", "Mumbai Mart LLP"}


def test_a_cursor_from_another_company_reads_everything_again(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    cursor = books.read("invoices", None).cursor()
    emulator.companies.insert(0, new_company("Acme (2026-27)", "Maharashtra", "27AAPFU0939F1ZV"))
    other = connector(emulator, company="Acme (2026-27)")
    assert records(other.read("invoices", cursor)) == {}
    assert len(records(books.read("invoices", "not-a-cursor"))) == 2


def test_a_voucher_that_cannot_be_read_is_reported_and_the_others_are_read(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    date_node = emulator.company().vouchers[ll_id(4)].node.find("DATE")
    assert date_node is not None
    date_node.text = "31-Feb"
    items = list(books.read("invoices", None))
    failures = [i for i in items if isinstance(i, ReadFailure)]
    assert [f.key for f in failures] == [ll_id(4)]
    assert "'31-Feb' is not a Tally date" in failures[0].error.message
    assert [i.key for i in items if isinstance(i, Change)] == [ll_id(3)]
