"""GoldMine contacts and deals read from its SQL schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import event, text

from ledgerlink.canonical.records import Change, Contact, Deal
from ledgerlink.connectors.base import SourceConnector
from ledgerlink.connectors.goldmine.connector import GoldMineConnector
from ledgerlink.errors import ConfigError, RecordError
from tests.emulators.goldmine import GoldMineEmulator, connector_for, database_url, read_all

GMBASE = f"ll_gmbase_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def gm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GoldMineEmulator]:
    """An empty GoldMine database: a SQLite file, or a fresh PostgreSQL schema."""
    with database_url(request.param, tmp_path) as url:
        emulator = GoldMineEmulator(url)
        yield emulator
        emulator.dispose()


def contacts(connector: GoldMineConnector) -> dict[str, Contact]:
    items, _ = read_all(connector, "contacts")
    loaded = {c.key: c.load() for c in items}
    assert all(isinstance(r, Contact) for r in loaded.values())
    return loaded  # type: ignore[return-value]


def deals(connector: GoldMineConnector) -> dict[str, Deal]:
    items, _ = read_all(connector, "deals")
    loaded = {c.key: c.load() for c in items}
    assert all(isinstance(r, Deal) for r in loaded.values())
    return loaded  # type: ignore[return-value]


def test_is_a_source_connector(gm: GoldMineEmulator, tmp_path: Path) -> None:
    connector = connector_for(gm, tmp_path)
    assert isinstance(connector, SourceConnector)
    assert connector.readable_streams() == ("contacts", "deals")


def test_contact_with_two_emails_primary_first(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Anna Berg", "Nordic AB")
    gm.add_email(account, "anna.private@home.example.org")
    gm.add_email(account, "Anna.Berg@Nordic.EXAMPLE.com", primary=True)

    contact = contacts(connector_for(gm, tmp_path))[account]

    assert contact.emails == ("Anna.Berg@nordic.example.com", "anna.private@home.example.org")
    assert contact.email == "Anna.Berg@nordic.example.com"


def test_long_email_continues_in_address1(gm: GoldMineEmulator, tmp_path: Path) -> None:
    address = "accounts.payable.department@very-long-subsidiary-name.example.com"
    account = gm.add_contact("Mark Dubois", emails=[address])
    assert gm.row(gm.tables.contsupp, "ACCOUNTNO", account)["ADDRESS1"]  # really split

    assert contacts(connector_for(gm, tmp_path))[account].emails == (address,)


def test_contact_fields_and_contact2_user_fields(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact(
        "Dr. José María García",
        "Société Générale",
        emails=["jose@example.com"],
        user={"UTAXID": "FR40303265045", "UCREDLIMIT": 12500.75, "UTERMS": "Net 45"},
        PHONE1="(415)555-0100",
        PHONE3="+44 20 7946 0958",
        ADDRESS1="1 Main Street",
        ADDRESS2="Suite 4",
        CITY="Lyon",
        ZIP="69001",
        COUNTRY="France",
        NOTES="Met at the fair.\nPrefers e-mail.",
    )

    contact = contacts(connector_for(gm, tmp_path, currency="EUR"))[account]

    assert contact.kind == "person"
    assert (contact.display_name, contact.company) == ("Dr. José María García", "Société Générale")
    assert (contact.given_name, contact.family_name) == ("José María", "García")
    assert contact.tax_id == "FR40303265045"
    assert contact.credit_limit == Decimal("12500.75")
    assert isinstance(contact.credit_limit, Decimal)
    assert contact.payment_terms_days == 45
    assert contact.phones == ("+14155550100", "+442079460958")
    (address,) = contact.addresses
    assert (address.street, address.city, address.postal_code) == (
        "1 Main Street\nSuite 4",
        "Lyon",
        "69001",
    )
    assert contact.notes == "Met at the fair.\nPrefers e-mail."
    assert contact.currency == "EUR"
    assert contact.updated_at is not None
    assert contact.updated_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("name", "lastname", "given", "family"),
    [
        ("John Smith", "Smith", "John", "Smith"),
        ("Maria de la Cruz", "de la Cruz", "Maria", "de la Cruz"),
        ("Smith, John", "", "John", "Smith"),
        ("Dr. Priya K. Iyer", "", "Priya K.", "Iyer"),
        ("Cher", "", "Cher", ""),
    ],
)
def test_full_names_are_split(
    gm: GoldMineEmulator, tmp_path: Path, name: str, lastname: str, given: str, family: str
) -> None:
    account = gm.add_contact(name, LASTNAME=lastname)
    contact = contacts(connector_for(gm, tmp_path))[account]
    assert (contact.given_name, contact.family_name) == (given, family)


def test_company_without_contact_name(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("", "Bäckerei Groß")
    contact = contacts(connector_for(gm, tmp_path))[account]
    assert (contact.kind, contact.display_name, contact.given_name) == (
        "company",
        "Bäckerei Groß",
        "",
    )


def test_invalid_email_fails_on_load_only(gm: GoldMineEmulator, tmp_path: Path) -> None:
    bad = gm.add_contact("Liam Nguyen", emails=["liam at example dot com"])
    good = gm.add_contact("Zoë Kowalski", emails=["zoe@example.com"])

    items, _ = read_all(connector_for(gm, tmp_path), "contacts")  # reading does not validate
    by_key = {c.key: c for c in items}

    with pytest.raises(RecordError, match="liam at example dot com"):
        by_key[bad].load()
    assert by_key[bad].location == f"CONTACT1 ACCOUNTNO={bad}"
    assert by_key[bad].raw["CONTACT"] == "Liam Nguyen"
    assert "liam at example dot com" in by_key[bad].raw["E-MAIL ADDRESSES"]
    raw = orjson.loads(orjson.dumps(dict(by_key[bad].raw)))  # as the dead-letter queue keeps it
    assert raw["CONTACT"] == "Liam Nguyen"
    assert raw["ACCOUNTNO"] == bad
    assert by_key[good].load().email == "zoe@example.com"  # type: ignore[union-attr]


def test_keys_are_trimmed_accountnos(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Rahul Iyer", ACCOUNTNO="B6030748735)E$7G,M  ")
    items, _ = read_all(connector_for(gm, tmp_path), "contacts")
    assert [c.key for c in items] == [account.strip()]


def test_won_lost_and_open_deals(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Sofia Müller", "Acme Ltd")
    won = gm.add_opportunity(
        account,
        "Annual support",
        "12000.00",
        status="Closed - Won",
        stage="Negotiation",
        closed_on=date(2026, 2, 27),
        closed_amount="11250.50",
        close_by=date(2026, 3, 31),
    )
    lost = gm.add_opportunity(
        account, "Hardware", "999.99", stage="Lost", close_by=date(2026, 1, 5)
    )
    still_open = gm.add_opportunity(
        account, "", "0.10", stage="Proposal", close_by=date(2026, 6, 30), product="Consulting"
    )

    found = deals(connector_for(gm, tmp_path, currency="GBP"))

    assert set(found) == {won, lost, still_open}  # the OC contact rows are not deals
    assert found[won].status == "won"
    assert found[won].amount == Decimal("11250.50")  # closed amount beats the forecast
    assert found[won].close_date == date(2026, 2, 27)
    assert found[won].contact_key == account
    assert found[lost].status == "lost"
    assert found[lost].amount == Decimal("999.99")
    assert found[still_open].status == "open"
    assert found[still_open].amount == Decimal("0.10")
    assert found[still_open].close_date == date(2026, 6, 30)
    assert found[still_open].title == "Consulting"
    assert [line.description for line in found[still_open].lines] == ["Consulting"]
    assert all(isinstance(d.amount, Decimal) and d.currency == "GBP" for d in found.values())


def test_deal_and_contact_keys_agree(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Chloé Dubois")
    gm.add_opportunity(account, "Training", "500")
    connector = connector_for(gm, tmp_path)
    (deal,) = deals(connector).values()
    assert deal.contact_key in contacts(connector)


def test_stage_mapping_is_configurable(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Jürgen Berg")
    signed = gm.add_opportunity(account, "Licences", "100", stage="Signed")
    dropped = gm.add_opportunity(account, "Upgrade", "100", status="No Decision")
    connector = connector_for(gm, tmp_path, won_stages=["Signed"], lost_stages=["no decision"])
    found = deals(connector)
    assert (found[signed].status, found[dropped].status) == ("won", "lost")


def test_deal_amount_with_too_many_decimals_fails_on_load(
    gm: GoldMineEmulator, tmp_path: Path
) -> None:
    account = gm.add_contact("Mark Smith")
    opid = gm.add_opportunity(account, "Odd", "10.125", stage="Won")
    items, _ = read_all(connector_for(gm, tmp_path), "deals")
    with pytest.raises(RecordError, match="more decimals"):
        items[0].load()
    assert items[0].key == opid


def test_deals_need_a_currency(gm: GoldMineEmulator, tmp_path: Path) -> None:
    connector = connector_for(gm, tmp_path, currency=None)
    with pytest.raises(ConfigError, match="currency"):
        connector.read("deals", None)
    assert read_all(connector, "contacts")[0] == []  # contacts do not


def test_unknown_stream(gm: GoldMineEmulator, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no stream 'invoices'"):
        connector_for(gm, tmp_path).read("invoices", None)


def test_one_query_per_chunk_not_per_row(gm: GoldMineEmulator, tmp_path: Path) -> None:
    gm.seed(2_500)
    connector = connector_for(gm, tmp_path)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = connector._db.engine()  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", count)
    items, _ = read_all(connector, "contacts")

    assert len(items) == 2_500
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 6  # contacts, 3 chunks of e-mails, deletions


def test_check_counts_contacts(gm: GoldMineEmulator, tmp_path: Path) -> None:
    gm.seed(3)
    assert "3 contact(s)" in connector_for(gm, tmp_path).check()


def test_check_names_missing_user_fields(gm: GoldMineEmulator, tmp_path: Path) -> None:
    connector = connector_for(gm, tmp_path, user_fields={"tax_id": "UVATNO"})
    with pytest.raises(ConfigError, match="UVATNO"):
        connector.check()


def test_unchanged_rows_keep_their_version(gm: GoldMineEmulator, tmp_path: Path) -> None:
    gm.seed(20)
    connector = connector_for(gm, tmp_path)
    first = {c.key: c.version for c in read_all(connector, "contacts")[0]}
    again = {c.key: c.version for c in read_all(connector, "contacts")[0]}
    assert first == again
    deals_first = {c.key: c.version for c in read_all(connector, "deals")[0]}
    assert deals_first == {c.key: c.version for c in read_all(connector, "deals")[0]}


def test_stamps_are_in_goldmines_time_zone(gm: GoldMineEmulator, tmp_path: Path) -> None:
    account = gm.add_contact("Chloé Dubois")  # stamped 2026-03-02 09:30, Paris time
    contact = contacts(connector_for(gm, tmp_path, timezone="Europe/Paris"))[account]
    assert contact.updated_at == datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
    assert contact.updated_at.astimezone(UTC).hour == 8


def test_changes_are_lazy(gm: GoldMineEmulator, tmp_path: Path) -> None:
    gm.add_contact("", "")  # neither name nor company: only load() notices
    (item,), _ = read_all(connector_for(gm, tmp_path), "contacts")
    assert isinstance(item, Change)
    with pytest.raises(RecordError, match="neither a contact name nor a company"):
        item.load()


@pytest.mark.postgres
def test_opportunities_in_another_schema(tmp_path: Path) -> None:
    with database_url("postgresql", tmp_path) as url:
        setup = GoldMineEmulator(url, create=False)
        with setup.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{GMBASE}"'))
        setup.dispose()
        gm = GoldMineEmulator(url, gmbase_schema=GMBASE)
        try:
            account = gm.add_contact("Anna Berg")
            opid = gm.add_opportunity(account, "Support", "100")
            connector = connector_for(gm, tmp_path, gmbase_schema=GMBASE)
            assert "1 contact(s)" in connector.check()
            assert set(deals(connector)) == {opid}
        finally:
            with gm.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{GMBASE}" CASCADE'))
            gm.dispose()
