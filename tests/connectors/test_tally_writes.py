"""Writing to a running Tally: party ledgers, sales vouchers, credit notes, receipts, REMOTEIDs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ledgerlink.connectors.base import WriteRequest
from ledgerlink.connectors.tally.connector import TallyConnector
from ledgerlink.errors import ConnectionFailedError, RecordError, TransientError
from tests.emulators.tally import Fault, TallyEmulator
from tests.emulators.tally.samples import (
    KARNATAKA_GSTIN,
    connector,
    create_customer,
    create_invoice,
    create_payment,
    customer,
    invoice,
    ll_id,
)

MUMBAI = customer("Mumbai Mart", state="Maharashtra")
BHARAT = customer("Bharat Traders", gstin=KARNATAKA_GSTIN, state="Karnataka")


@pytest.fixture
def emulator() -> TallyEmulator:
    return TallyEmulator()


@pytest.fixture
def books(emulator: TallyEmulator) -> TallyConnector:
    books = connector(emulator)
    outcomes = books.apply([create_customer(1, MUMBAI), create_customer(2, BHARAT)])
    assert [o.target_id for o in outcomes] == ["Mumbai Mart", "Bharat Traders"]
    return books


def ledger_text(emulator: TallyEmulator, name: str, tag: str) -> str:
    stored = emulator.company().master("LEDGER", name)
    assert stored is not None, f"no ledger {name!r}"
    return stored.text(tag)


def voucher_ledgers(emulator: TallyEmulator, guid: str) -> dict[str, Decimal]:
    node = emulator.company().vouchers[guid].node
    return {
        (e.findtext("LEDGERNAME") or ""): Decimal(e.findtext("AMOUNT") or "0")
        for e in node.iter("ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST")
    }


def imports(emulator: TallyEmulator) -> int:
    return emulator.envelopes.count("import")


# -- connection -----------------------------------------------------------------------------


def test_check_names_the_company_and_its_parties(books: TallyConnector) -> None:
    assert "company 'Acme (2025-26)', 2 party ledger(s)" in books.check()


def test_a_company_that_is_not_open_is_a_connection_failure(emulator: TallyEmulator) -> None:
    with pytest.raises(ConnectionFailedError, match="'Other Co' is not open in Tally"):
        connector(emulator, company="Other Co").check()


def test_tally_not_running_is_a_connection_failure_with_the_fix() -> None:
    with TallyEmulator().serve() as url:
        pass  # the port is closed again
    books = connector(url=url, connect_timeout_seconds=2)
    with pytest.raises(ConnectionFailedError, match="not reachable") as raised:
        books.check()
    assert "Connectivity" in str(raised.value)


def test_over_real_http_requests_go_one_at_a_time() -> None:
    emulator = TallyEmulator()
    with emulator.serve() as url:
        books = connector(url=url)
        books.apply([create_customer(1, MUMBAI)])
        outcome = books.apply([create_invoice(3, invoice(["100"]), "Mumbai Mart")])[0]
        books.close()
    assert outcome.ok
    assert emulator.max_in_flight == 1
    assert len(emulator.company().vouchers) == 1


# -- party ledgers --------------------------------------------------------------------------


def test_a_customer_becomes_a_party_ledger_with_its_gst_details(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    stored = emulator.company().master("LEDGER", "Bharat Traders")
    assert stored is not None
    assert stored.guid == ll_id(2)
    assert [a.text for a in stored.node.findall("ADDRESS.LIST/ADDRESS")] == ["1 MG Road", "Pune"]
    assert {tag: stored.text(tag) for tag in (
        "PARENT", "ISBILLWISEON", "LEDSTATENAME", "COUNTRYNAME", "PINCODE", "EMAIL",
        "LEDGERPHONE", "GSTREGISTRATIONTYPE", "PARTYGSTIN",
    )} == {
        "PARENT": "Sundry Debtors", "ISBILLWISEON": "Yes", "LEDSTATENAME": "Karnataka",
        "COUNTRYNAME": "India", "PINCODE": "411001", "EMAIL": "accounts@bharat.example",
        "LEDGERPHONE": "+91 22 5550 0100", "GSTREGISTRATIONTYPE": "Regular",
        "PARTYGSTIN": KARNATAKA_GSTIN,
    }  # fmt: skip
    assert ledger_text(emulator, "Mumbai Mart", "GSTREGISTRATIONTYPE") == "Unregistered"


def test_an_invalid_gstin_is_dead_lettered_naming_it_and_nothing_is_imported(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    before = imports(emulator)
    bad = customer("Typo Traders", gstin="29AAGCB7383J1Z5", state="Karnataka")
    [outcome] = books.apply([create_customer(5, bad)])
    assert isinstance(outcome.error, RecordError)
    assert "29AAGCB7383J1Z5" in str(outcome.error)
    assert imports(emulator) == before
    assert emulator.company().master("LEDGER", "Typo Traders") is None


def test_an_update_alters_renames_and_keeps_what_a_person_changed_elsewhere(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    books.apply([create_invoice(3, invoice(["100"]), "Mumbai Mart")])
    emulator.import_xml(
        '<LEDGER NAME="Mumbai Mart" ACTION="Alter">'
        "<LEDGERPHONE>022 2222 0000</LEDGERPHONE></LEDGER>"
    )
    renamed = replace(MUMBAI, display_name="Mumbai Mart Pvt Ltd", email="new@mumbai.example")
    update = WriteRequest(
        "update", "customers", ll_id(1), "k", renamed, target_id="Mumbai Mart",
        changed_fields=("display_name", "email"),
    )  # fmt: skip
    [outcome] = books.apply([update])
    assert outcome.target_id == "Mumbai Mart Pvt Ltd"
    assert emulator.company().master("LEDGER", "Mumbai Mart") is None
    assert ledger_text(emulator, "Mumbai Mart Pvt Ltd", "EMAIL") == "new@mumbai.example"
    assert ledger_text(emulator, "Mumbai Mart Pvt Ltd", "LEDGERPHONE") == "022 2222 0000"
    assert "Mumbai Mart Pvt Ltd" in voucher_ledgers(emulator, ll_id(3))


def test_a_name_a_hand_made_ledger_already_has_is_not_taken_over(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    emulator.import_xml('<LEDGER NAME="Kumar Stores"><PARENT>Sundry Debtors</PARENT></LEDGER>')
    [outcome] = books.apply([create_customer(7, customer("kumar stores", state="Goa"))])
    assert isinstance(outcome.error, RecordError)
    assert "already exists in Tally" in outcome.error.message
    assert "ledgerlink matches" in str(outcome.error)


def test_a_customer_sent_twice_is_one_ledger(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    [again] = books.apply([create_customer(1, MUMBAI)])
    assert again.target_id == "Mumbai Mart"
    ledgers = [m for m in emulator.company().masters.values() if m.name == "Mumbai Mart"]
    assert len(ledgers) == 1


def test_two_customers_with_one_name_in_a_batch_fail_the_second(books: TallyConnector) -> None:
    first, second = books.apply(
        [
            create_customer(8, customer("Twin Co", state="Goa")),
            create_customer(9, customer("TWIN CO")),
        ]
    )
    assert first.ok
    assert isinstance(second.error, RecordError)
    assert "also named" in second.error.message


# -- sales vouchers -------------------------------------------------------------------------


def test_gst_follows_the_party_state_in_tally(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    outcomes = books.apply(
        [
            create_invoice(3, invoice(["100000"], number="SL/1"), "Mumbai Mart"),
            create_invoice(4, invoice(["100000"], number="SL/2"), "Bharat Traders"),
        ]
    )
    assert [o.target_id for o in outcomes] == [ll_id(3), ll_id(4)]
    assert voucher_ledgers(emulator, ll_id(3)) == {
        "Mumbai Mart": Decimal("-118000.00"), "Sales": Decimal("100000.00"),
        "Output CGST": Decimal("9000.00"), "Output SGST": Decimal("9000.00"),
    }  # fmt: skip
    assert voucher_ledgers(emulator, ll_id(4))["Output IGST"] == Decimal("18000.00")


def test_an_invoice_sent_again_with_its_remoteid_is_not_duplicated(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    request = create_invoice(3, invoice(["100"]), "Mumbai Mart")
    first = books.apply([request])
    second = books.apply([request])
    assert first[0].target_id == second[0].target_id == ll_id(3)
    assert list(emulator.company().vouchers) == [ll_id(3)]


def test_a_connection_dropped_after_tally_committed_is_retried_without_a_duplicate(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    emulator.faults.append(Fault("drop", on="import"))
    request = create_invoice(3, invoice(["100"]), "Mumbai Mart")
    with pytest.raises(TransientError):
        books.apply([request])
    assert list(emulator.company().vouchers) == [ll_id(3)]
    [outcome] = books.apply([request])  # the executor's retry
    assert outcome.ok
    assert list(emulator.company().vouchers) == [ll_id(3)]


def test_one_bad_voucher_among_many_fails_alone_with_tallys_own_message(
    emulator: TallyEmulator,
) -> None:
    for duty, head in (("CGST", "Central Tax"), ("SGST", "State Tax")):
        emulator.import_xml(
            f'<LEDGER NAME="Output {duty} @9%"><PARENT>Duties &amp; Taxes</PARENT>'
            f"<GSTDUTYHEAD>{head}</GSTDUTYHEAD></LEDGER>"
        )
    books = connector(
        emulator, cgst_ledger="Output CGST @{rate}%", sgst_ledger="Output SGST @{rate}%"
    )
    books.apply([create_customer(1, MUMBAI)])
    before = imports(emulator)
    requests = [
        create_invoice(10 + i, invoice(["100"], "12" if i == 7 else "18"), "Mumbai Mart")
        for i in range(20)
    ]
    outcomes = books.apply(requests)
    failed = [o for o in outcomes if not o.ok]
    assert [o.request.ledgerlink_id for o in failed] == [ll_id(17)]
    assert isinstance(failed[0].error, RecordError)
    assert "Ledger 'Output CGST @6%' does not exist!" in failed[0].error.message
    assert len(emulator.company().vouchers) == 19
    assert imports(emulator) - before == 1  # attributed without resending anything


def test_several_bad_vouchers_are_resent_singly_to_learn_each_message(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    bad_date = replace(invoice(["100"]), issue_date=date(1, 1, 1))
    requests = [
        create_invoice(10, invoice(["100"]), "Mumbai Mart"),
        create_invoice(11, invoice(["250"]), "Bharat Traders"),
        create_payment(12, "NO-SUCH-BILL", "5", "Mumbai Mart"),
        create_payment(13, "ALSO-MISSING", "5", "Mumbai Mart"),
        create_invoice(14, bad_date, "Mumbai Mart"),
    ]  # fmt: skip
    outcomes = books.apply(requests)
    messages = {o.request.ledgerlink_id: str(o.error) for o in outcomes if o.error}
    assert set(messages) == {ll_id(12), ll_id(13), ll_id(14)}
    assert "Bill 'NO-SUCH-BILL' of 'Mumbai Mart' does not exist!" in messages[ll_id(12)]
    assert "Bill 'ALSO-MISSING' of 'Mumbai Mart' does not exist!" in messages[ll_id(13)]
    assert "is not valid" in messages[ll_id(14)]
    assert sorted(emulator.company().vouchers) == [ll_id(10), ll_id(11)]


def test_an_envelope_refused_as_a_whole_is_sent_again_one_voucher_at_a_time(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    emulator.faults.append(Fault("reject", message="Memory Access Violation", on="import"))
    requests = [create_invoice(20 + i, invoice(["100"]), "Mumbai Mart") for i in range(3)]
    outcomes = books.apply(requests)
    assert all(o.ok for o in outcomes)
    assert len(emulator.company().vouchers) == 3


def test_an_invoice_for_a_party_tally_no_longer_has_is_dead_lettered(books: TallyConnector) -> None:
    [outcome] = books.apply([create_invoice(3, invoice(["100"]), "Gone Ltd")])
    assert isinstance(outcome.error, RecordError)
    assert "'Gone Ltd' does not exist in Tally" in outcome.error.message


def test_lines_with_skus_create_the_stock_items_and_an_item_invoice(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    record = invoice(["250", "40"], skus=["ROD-1", "NUT-2"], quantities=[10, 4])
    [outcome] = books.apply([create_invoice(3, record, "Mumbai Mart")])
    assert outcome.ok
    company = emulator.company()
    assert company.master("STOCKITEM", "ROD-1") is not None
    node = company.vouchers[ll_id(3)].node
    assert node.findtext("PERSISTEDVIEW") == "Invoice Voucher View"
    assert [s.findtext("BILLEDQTY") for s in node.iter("ALLINVENTORYENTRIES.LIST")] == [
        "10 Nos",
        "4 Nos",
    ]


def test_a_void_posts_a_credit_note_against_the_bill(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    record = invoice(["100"], number="SL/9")
    books.apply([create_invoice(3, record, "Mumbai Mart")])
    void = WriteRequest(
        "void", "invoices", ll_id(3), "k", replace(record, status="void"),
        target_id=ll_id(3), references={"customer": "Mumbai Mart"},
    )  # fmt: skip
    [outcome] = books.apply([void])
    assert outcome.target_id == ll_id(3)
    note = emulator.company().vouchers[ll_id(3) + "-cn"].node
    assert note.findtext("VOUCHERTYPENAME") == "Credit Note"
    assert note.findtext("DATE") == "20250601"
    party = note.find("ALLLEDGERENTRIES.LIST")
    assert party is not None
    assert party.findtext("AMOUNT") == "118.00"
    assert party.findtext("BILLALLOCATIONS.LIST/NAME") == "SL/9"
    assert party.findtext("BILLALLOCATIONS.LIST/BILLTYPE") == "Agst Ref"


def test_a_payment_becomes_a_receipt_against_the_invoice_bill(
    books: TallyConnector, emulator: TallyEmulator
) -> None:
    books.apply([create_invoice(3, invoice(["100"], number="SL/9"), "Mumbai Mart")])
    [outcome] = books.apply([create_payment(4, "SL/9", "118", "Mumbai Mart")])
    assert outcome.target_id == ll_id(4)
    assert voucher_ledgers(emulator, ll_id(4)) == {
        "Mumbai Mart": Decimal("118.00"), "Cash": Decimal("-118.00"),
    }  # fmt: skip
