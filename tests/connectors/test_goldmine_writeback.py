"""GoldMine write-back: contacts' changed fields, and invoice number, paid status, balance and
paid date into CONTACT2 and OPMGR, stamped; equal values write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from ledgerlink.canonical.records import Address, Contact, Invoice
from ledgerlink.canonical.records import InvoiceStatus as InvoiceState
from ledgerlink.connectors.base import ConnectorContext, WriteBackSource, WriteRequest
from ledgerlink.connectors.goldmine.config import GoldMineConfig
from ledgerlink.connectors.goldmine.connector import GoldMineConnector
from ledgerlink.connectors.goldmine.contact_writer import CONTACT_FIELDS
from ledgerlink.connectors.goldmine.writer import InvoiceStatus, new_recid
from ledgerlink.errors import ConfigError, RecordError
from tests.emulators.goldmine import START, GoldMineEmulator, connector_for, database_url, read_all

OPPORTUNITY_FIELDS = {"invoice_number": "F1", "paid_status": "F2"}
STAMPS = ("LASTDATE", "LASTTIME", "LASTUSER")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def gm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GoldMineEmulator]:
    """An empty GoldMine database: a SQLite file, or a fresh PostgreSQL schema."""
    with database_url(request.param, tmp_path) as url:
        emulator = GoldMineEmulator(url)
        yield emulator
        emulator.dispose()


def test_invoice_number_and_paid_status_go_to_contact2(
    gm: GoldMineEmulator, tmp_path: Path
) -> None:
    account = gm.add_contact("Anna Berg", user={"UTAXID": "SE1"})
    gm.now = START + timedelta(hours=3, minutes=7, seconds=42)
    writer = connector_for(gm, tmp_path).invoice_writer()

    stamp = writer.record_invoice(InvoiceStatus(account, "INV-2026-0042", paid=False))

    contact2 = gm.row(gm.tables.contact2, "ACCOUNTNO", account)
    assert (contact2["UINVOICE"], contact2["UPAID"], contact2["UTAXID"]) == (
        "INV-2026-0042",
        "Unpaid",
        "SE1",
    )
    contact1 = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    assert contact1["LASTDATE"] == datetime(2026, 3, 2)  # the date at midnight ...
    assert contact1["LASTTIME"] == "12:37"  # ... and HH:MM, as GoldMine writes them
    assert contact1["LASTUSER"] == "LEDGERLK"
    assert stamp == datetime(2026, 3, 2, 12, 37, tzinfo=UTC)

    writer.record_invoice(InvoiceStatus(account, "INV-2026-0042", paid=True))
    assert gm.row(gm.tables.contact2, "ACCOUNTNO", account)["UPAID"] == "Paid"


def test_stamp_is_in_goldmines_time_zone(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Priya Iyer")
    config = GoldMineConfig(type="goldmine", url=gm.url, timezone="Asia/Kolkata", write_user="acct")
    utc_now = datetime(2026, 3, 2, 18, 20, 5, tzinfo=UTC)  # 23:50 in Kolkata
    connector = GoldMineConnector(config, ConnectorContext("crm", tmp_path), clock=lambda: utc_now)
    gm.connectors.append(connector)

    connector.invoice_writer().record_invoice(InvoiceStatus(account, "7", paid=True))

    contact1 = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    assert (contact1["LASTDATE"], contact1["LASTTIME"], contact1["LASTUSER"]) == (
        datetime(2026, 3, 2),
        "23:50",
        "ACCT",
    )


def test_contact2_row_is_created_when_missing(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Mark Smith")  # GoldMine creates CONTACT2 rows lazily
    connector_for(gm, tmp_path).invoice_writer().record_invoice(
        InvoiceStatus(account, "A-1", paid=True)
    )
    contact2 = gm.row(gm.tables.contact2, "ACCOUNTNO", account)
    assert (contact2["UINVOICE"], contact2["UPAID"]) == ("A-1", "Paid")
    assert len(contact2["recid"]) == 15


def test_opportunity_fields(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Sofia Müller")
    opid = gm.add_opportunity(account, "Support", "100", stage="Won")
    connector = connector_for(gm, tmp_path, opportunity_fields=OPPORTUNITY_FIELDS)

    connector.invoice_writer().record_invoice(
        InvoiceStatus(account, "INV-9", paid=True, opportunity=opid)
    )

    main = gm.row(gm.tables.opmgr, "RECID", opid)
    assert (main["F1"], main["F2"]) == ("INV-9", "Paid")
    assert gm.row(gm.tables.contact2, "ACCOUNTNO", account)["UINVOICE"] == "INV-9"


def test_unknown_opportunity_writes_nothing(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Sofia Müller", user={})
    other = gm.add_contact("Jürgen Berg")
    foreign = gm.add_opportunity(other, "Not hers", "100")
    before = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    gm.now += timedelta(hours=1)
    writer = connector_for(gm, tmp_path, opportunity_fields=OPPORTUNITY_FIELDS).invoice_writer()

    with pytest.raises(RecordError, match="no opportunity"):
        writer.record_invoice(InvoiceStatus(account, "INV-1", paid=False, opportunity=foreign))

    assert gm.row(gm.tables.contact1, "ACCOUNTNO", account)["LASTTIME"] == before["LASTTIME"]
    assert gm.row(gm.tables.contact2, "ACCOUNTNO", account)["UINVOICE"] is None  # rolled back


def test_opportunity_write_back_needs_its_fields(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Anna Berg")
    opid = gm.add_opportunity(account, "Support", "100")
    with pytest.raises(ConfigError, match="opportunity_fields"):
        connector_for(gm, tmp_path).invoice_writer().record_invoice(
            InvoiceStatus(account, "1", paid=True, opportunity=opid)
        )


def test_unknown_account_and_batch_outcomes(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Anna Berg")
    writer = connector_for(gm, tmp_path).invoice_writer()

    with pytest.raises(RecordError, match="no contact with ACCOUNTNO 'NOPE'"):
        writer.record_invoice(InvoiceStatus("NOPE", "1", paid=True))
    outcomes = writer.record_invoices(
        [InvoiceStatus("NOPE", "1", paid=True), InvoiceStatus(account, "2", paid=False)]
    )

    assert isinstance(outcomes[0], RecordError)
    assert outcomes[1] is None
    assert gm.row(gm.tables.contact2, "ACCOUNTNO", account)["UINVOICE"] == "2"


def test_own_write_back_is_not_read_as_a_change(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Anna Berg", user={"UTAXID": "SE1"}, emails=["anna@example.com"])
    connector = connector_for(gm, tmp_path)
    (first,), cursor = read_all(connector, "contacts")

    gm.now += timedelta(hours=1)
    connector.invoice_writer().record_invoice(InvoiceStatus(account, "INV-1", paid=True))
    (again,), _ = read_all(connector, "contacts", cursor)

    assert again.key == account  # the stamp moved, so it is read again ...
    assert again.version == first.version  # ... and recognised as unchanged


def test_dbase_files_are_read_only(tmp_path: Path) -> None:
    config = GoldMineConfig(type="goldmine", dbf_path=tmp_path)
    with pytest.raises(ConfigError, match="read only"):
        GoldMineConnector(config, ConnectorContext("crm", tmp_path)).invoice_writer()


def test_new_recids_are_unique_and_fifteen_characters() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    recids = {new_recid(now) for _ in range(1_000)}
    assert len(recids) == 1_000
    assert {len(r) for r in recids} == {15}


# -- the WriteBackSource protocol: contacts ------------------------------------------------------


def contact_update(
    account: str, contact: Contact, *fields: str, stream: str = "contacts"
) -> WriteRequest:
    return WriteRequest(
        action="update",
        stream=stream,
        ledgerlink_id=f"ll-{account}",
        idempotency_key=f"wb-{account}",
        record=contact,
        target_id=account,
        changed_fields=fields,
    )


def read_contact(connector: GoldMineConnector, account: str) -> Contact:
    (change,) = [c for c in read_all(connector, "contacts")[0] if c.key == account]
    record = change.load()
    assert isinstance(record, Contact)
    return record


def seeded(gm: GoldMineEmulator) -> str:
    return gm.add_contact(
        "Anna Berg",
        "Nordic AB",
        emails=["anna@nordic.example", "anna.home@example.org"],
        user={"UTAXID": "SE1", "UCREDLIMIT": 2500.0, "UTERMS": "Net 30"},
        PHONE1="(415) 555-0100",
        PHONE2="(415) 555-0199",
        ADDRESS1="1 Main Street",
        CITY="Springfield",
        STATE="IL",
        ZIP="62701",
        COUNTRY="USA",
        NOTES="Prefers e-mail.",
    )


def test_connector_is_a_write_back_source(gm: GoldMineEmulator, tmp_path: Path) -> None:
    connector = connector_for(gm, tmp_path)
    assert isinstance(connector, WriteBackSource)
    assert connector.write_back_streams() == ("contacts", "deals")


def test_contact_write_back_writes_only_the_changed_fields(
    gm: GoldMineEmulator, tmp_path: Path
) -> None:
    account = seeded(gm)
    connector = connector_for(gm, tmp_path)
    before = read_contact(connector, account)
    row_before = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    gm.now += timedelta(hours=2, minutes=5)
    # The books' view differs in many fields, but only the phone is named as changed.
    books = replace(
        before,
        phones=("+1 415 555 0142", "+19999999999"),
        company="Someone Else Ltd",
        notes="overwritten?",
    )

    (outcome,) = connector.write_back([contact_update(account, books, "phones")])

    assert outcome.ok
    assert outcome.target_id == account
    row = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    assert row["PHONE1"] == "+1 415 555 0142"
    assert row["PHONE2"] == "(415) 555-0199"  # the other phones are kept
    assert (row["COMPANY"], row["NOTES"]) == ("Nordic AB", "Prefers e-mail.")
    assert {k: v for k, v in row.items() if k not in {"PHONE1", *STAMPS}} == {
        k: v for k, v in row_before.items() if k not in {"PHONE1", *STAMPS}
    }
    assert (row["LASTDATE"], row["LASTTIME"], row["LASTUSER"]) == (
        datetime(2026, 3, 2),
        "11:35",
        "LEDGERLK",
    )
    after = read_contact(connector, account)
    assert after.phones == ("+14155550142", "+14155550199")
    assert after.emails == before.emails
    assert after.updated_at == datetime(2026, 3, 2, 11, 35, tzinfo=UTC)


def test_names_address_user_fields_and_notes(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = seeded(gm)
    connector = connector_for(gm, tmp_path)
    before = read_contact(connector, account)
    books = replace(
        before,
        display_name="Anna Lind",
        given_name="Anna",
        family_name="Lind",
        company="Nordic Group AB",
        addresses=(
            Address(
                street="2 Harbour Road\nUnit 5", city="Lyon", postal_code="69001", country="France"
            ),
        ),
        tax_id="SE2",
        credit_limit=Decimal("5000.50"),
        payment_terms_days=45,
        notes="Pays on time.",
    )
    fields = ("display_name", "given_name", "family_name", "company", "addresses")
    fields += ("tax_id", "credit_limit", "payment_terms_days", "notes")

    (outcome,) = connector.write_back([contact_update(account, books, *fields)])

    assert outcome.ok
    row = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    assert (row["CONTACT"], row["LASTNAME"], row["U_CONTACT"]) == ("Anna Lind", "Lind", "ANNA LIND")
    assert (row["COMPANY"], row["U_COMPANY"]) == ("Nordic Group AB", "NORDIC GROUP AB")
    assert (row["ADDRESS1"], row["ADDRESS2"], row["CITY"], row["STATE"]) == (
        "2 Harbour Road",
        "Unit 5",
        "Lyon",
        "",
    )
    assert (row["ZIP"], row["COUNTRY"], row["U_COUNTRY"]) == ("69001", "France", "FRANCE")
    contact2 = gm.row(gm.tables.contact2, "ACCOUNTNO", account)
    assert (contact2["UTAXID"], contact2["UTERMS"]) == ("SE2", "Net 45")  # its style kept
    assert contact2["UCREDLIMIT"] == Decimal("5000.50")
    after = read_contact(connector, account)
    assert (after.given_name, after.family_name, after.company) == (
        "Anna",
        "Lind",
        "Nordic Group AB",
    )
    assert after.addresses[0].street == "2 Harbour Road\nUnit 5"
    assert (after.credit_limit, after.payment_terms_days, after.notes) == (
        Decimal("5000.5"),
        45,
        "Pays on time.",
    )


def test_writing_back_what_goldmine_holds_changes_nothing(
    gm: GoldMineEmulator, tmp_path: Path
) -> None:
    account = seeded(gm)
    connector = connector_for(gm, tmp_path)
    (before,), cursor = read_all(connector, "contacts")
    current = before.load()
    assert isinstance(current, Contact)
    rows = {
        t.name: gm.row(t, "ACCOUNTNO", account) for t in (gm.tables.contact1, gm.tables.contact2)
    }
    gm.now += timedelta(hours=1)
    # Equal as the reader sees them, though written differently from what is stored.
    same = replace(current, phones=("+14155550100",), emails=("ANNA@nordic.example",))

    outcomes = connector.write_back([contact_update(account, same, *CONTACT_FIELDS)])

    assert [o.ok for o in outcomes] == [True]
    assert {
        t.name: gm.row(t, "ACCOUNTNO", account) for t in (gm.tables.contact1, gm.tables.contact2)
    } == rows
    assert read_all(connector, "contacts", cursor)[0] == []  # no new stamp, nothing to read


def test_first_email_is_replaced_in_contsupp(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = seeded(gm)
    connector = connector_for(gm, tmp_path)
    before = read_contact(connector, account)
    gm.now += timedelta(minutes=30)
    long_address = "anna.lind.accounts.payable.department@nordic-group.example"

    (outcome,) = connector.write_back(
        [contact_update(account, replace(before, emails=(long_address,)), "emails")]
    )

    assert outcome.ok
    after = read_contact(connector, account)
    assert after.emails == (long_address, "anna.home@example.org")  # the other one is kept
    with gm.engine.connect() as conn:
        supp = gm.tables.contsupp
        rows = conn.execute(supp.select().where(account == supp.c.ACCOUNTNO)).all()
    primary = [r for r in rows if r.ZIP == "1101"]
    assert [(r.CONTSUPREF, r.ADDRESS1, r.LASTTIME, r.LASTUSER) for r in primary] == [
        (long_address[:35], long_address[35:], "10:00", "LEDGERLK")
    ]


def test_a_contact_without_email_gets_a_primary_one(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Mark Smith")
    connector = connector_for(gm, tmp_path)
    before = read_contact(connector, account)
    connector.write_back(
        [contact_update(account, replace(before, emails=("mark@example.com",)), "emails")]
    )
    assert read_contact(connector, account).emails == ("mark@example.com",)


def test_record_problems_are_per_record_errors(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = seeded(gm)
    connector = connector_for(gm, tmp_path)
    before = read_contact(connector, account)
    row_before = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    gm.now += timedelta(hours=1)

    outcomes = connector.write_back(
        [
            contact_update("NOPE", replace(before, notes="x"), "notes"),
            contact_update(account, replace(before, company="C" * 41), "company"),
            contact_update(account, replace(before, currency="EUR"), "currency"),
            contact_update(account, replace(before, notes="Fine."), "notes"),
        ]
    )

    errors = [o.error for o in outcomes]
    assert isinstance(errors[0], RecordError)
    assert "no contact with ACCOUNTNO 'NOPE'" in errors[0].message
    assert errors[0].hint
    assert isinstance(errors[1], RecordError)
    assert "40 characters" in errors[1].message
    assert isinstance(errors[2], RecordError)
    assert "currency" in errors[2].message
    assert errors[3] is None
    row = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    assert row["COMPANY"] == row_before["COMPANY"]
    assert row["NOTES"] == "Fine."


def test_an_unmapped_user_field_is_a_record_error(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = seeded(gm)
    connector = connector_for(gm, tmp_path, user_fields={"tax_id": None})
    before = read_contact(connector, account)
    (outcome,) = connector.write_back(
        [contact_update(account, replace(before, tax_id="SE9"), "tax_id")]
    )
    assert isinstance(outcome.error, RecordError)
    assert "tax_id" in (outcome.error.hint or "")


def test_dbase_files_refuse_write_back(tmp_path: Path) -> None:
    config = GoldMineConfig(type="goldmine", dbf_path=tmp_path)
    connector = GoldMineConnector(config, ConnectorContext("crm", tmp_path))
    with pytest.raises(ConfigError, match="dBase files are read only"):
        connector.write_back([contact_update("A", Contact(display_name="A"), "notes")])


def test_contact_changes_carry_goldmines_stamp_as_updated_at(
    gm: GoldMineEmulator, tmp_path: Path
) -> None:
    gm.now = datetime(2026, 7, 1, 14, 5)
    account = gm.add_contact("Priya Iyer")
    connector = connector_for(gm, tmp_path, timezone="Asia/Kolkata")
    (change,), _ = read_all(connector, "contacts")
    assert change.key == account
    assert change.updated_at == datetime(2026, 7, 1, 14, 5, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert change.updated_at.utcoffset() == timedelta(hours=5, minutes=30)


# -- the WriteBackSource protocol: deals ---------------------------------------------------------


def books_invoice(
    number: str, status: InvoiceState, balance: str, paid_on: date | None = None
) -> Invoice:
    return Invoice(
        customer_key="58",
        currency="USD",
        issue_date=date(2026, 3, 1),
        lines=(),
        tax_lines=(),
        subtotal=Decimal("100.10"),
        tax_total=Decimal(0),
        total=Decimal("100.10"),
        number=number,
        status=status,
        balance=Decimal(balance),
        paid_on=paid_on,
    )


ALL_OPPORTUNITY_FIELDS = {"invoice_number": "F1", "paid_status": "F2", "paid_on": "F3"}


def test_a_payment_in_the_books_marks_the_deal_paid(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Sofia Müller")
    opid = gm.add_opportunity(account, "Support", "100.10", stage="Won")
    connector = connector_for(gm, tmp_path, opportunity_fields=ALL_OPPORTUNITY_FIELDS)
    issued = books_invoice("1042", "issued", "100.10")
    deal = contact_update(opid, issued, "number", "status", "balance", stream="deals")

    assert [o.ok for o in connector.write_back([deal])] == [True]
    main = gm.row(gm.tables.opmgr, "RECID", opid)
    assert (main["F1"], main["F2"], main["F3"]) == ("1042", "Unpaid", None)

    gm.now += timedelta(days=3)
    paid = books_invoice("1042", "paid", "0", date(2026, 3, 4))
    (outcome,) = connector.write_back(
        [replace(deal, record=paid, changed_fields=("status", "balance", "paid_on"))]
    )

    assert outcome.ok
    main = gm.row(gm.tables.opmgr, "RECID", opid)
    assert (main["F1"], main["F2"], main["F3"]) == ("1042", "Paid", "2026-03-04")
    contact2 = gm.row(gm.tables.contact2, "ACCOUNTNO", account)
    assert (contact2["UINVOICE"], contact2["UPAID"]) == ("1042", "Paid")
    stamped = gm.row(gm.tables.contact1, "ACCOUNTNO", account)
    assert (stamped["LASTDATE"], stamped["LASTUSER"]) == (datetime(2026, 3, 5), "LEDGERLK")

    gm.now += timedelta(hours=1)  # the same payment state again: nothing written or stamped
    assert [o.ok for o in connector.write_back([replace(deal, record=paid)])] == [True]
    assert gm.row(gm.tables.contact1, "ACCOUNTNO", account)["LASTTIME"] == stamped["LASTTIME"]


def test_balance_and_paid_date_into_contact2_fields(gm: GoldMineEmulator, tmp_path: Path) -> None:
    with gm.engine.begin() as conn:  # a site with numeric and date user fields for them
        conn.execute(text('ALTER TABLE "CONTACT2" ADD COLUMN "UBALANCE" NUMERIC(12, 2)'))
        conn.execute(text('ALTER TABLE "CONTACT2" ADD COLUMN "UPAIDON" TIMESTAMP'))
    account = gm.add_contact("Anna Berg", user={})
    opid = gm.add_opportunity(account, "Support", "250")
    connector = connector_for(
        gm, tmp_path, user_fields={"balance": "UBALANCE", "paid_on": "UPAIDON"}
    )
    partly = books_invoice("7", "issued", "149.90")
    request = contact_update(opid, partly, "balance", stream="deals")

    assert connector.write_back([request])[0].ok
    with gm.engine.connect() as conn:
        row = conn.execute(
            text('SELECT "UBALANCE", "UPAIDON", "UPAID" FROM "CONTACT2" WHERE "ACCOUNTNO" = :a'),
            {"a": account},
        ).one()
    assert Decimal(str(row[0])) == Decimal("149.90")
    assert (row[1], row[2]) == (None, "Unpaid")

    paid = books_invoice("7", "paid", "0", date(2026, 3, 9))
    assert connector.write_back([replace(request, record=paid)])[0].ok
    with gm.engine.connect() as conn:
        row = conn.execute(
            text('SELECT "UBALANCE", "UPAIDON", "UPAID" FROM "CONTACT2" WHERE "ACCOUNTNO" = :a'),
            {"a": account},
        ).one()
    assert Decimal(str(row[0])) == 0
    assert str(row[1]).startswith("2026-03-09")
    assert row[2] == "Paid"


def test_an_unknown_opportunity_is_a_record_error(gm: GoldMineEmulator, tmp_path: Path) -> None:
    connector = connector_for(gm, tmp_path)
    (outcome,) = connector.write_back(
        [contact_update("NOPE", books_invoice("1", "paid", "0"), "status", stream="deals")]
    )
    assert isinstance(outcome.error, RecordError)
    assert "no opportunity with OPID 'NOPE'" in outcome.error.message
