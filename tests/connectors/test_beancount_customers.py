"""Beancount customers: open directives written, updated in place, closed, listed for matching."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from beancount.core import data

from ledgerlink.canonical.records import Address
from ledgerlink.connectors.base import ConnectorContext, SourceConnector, TargetConnector
from ledgerlink.connectors.beancount.config import BeancountConfig
from ledgerlink.connectors.registry import connector_type
from ledgerlink.errors import RecordError
from tests.connectors.beancount_support import acme, load_ok, make_connector, request

HAND_MADE = """\
; My books. Customers below were typed by hand.
option "operating_currency" "USD"

2020-01-01 open Assets:Bank
2020-01-01 open Income:Sales
2020-01-01 open Assets:Receivable:Globex USD
  email: "ap@globex.example"

2020-01-01 open Assets:Receivable:Initech
"""


def _opens(path: Path) -> dict[str, data.Open]:
    return {e.account: e for e in load_ok(path) if isinstance(e, data.Open)}


def test_connector_is_found_by_the_registry_and_speaks_both_protocols(tmp_path: Path) -> None:
    kind = connector_type("beancount")
    config = kind.config_model().model_validate({"type": "beancount", "path": "books.beancount"})
    connector = kind.build(config, ConnectorContext("books", tmp_path))
    assert isinstance(connector, TargetConnector)
    assert isinstance(connector, SourceConnector)
    assert not (tmp_path / "books.beancount").exists()  # construction does no I/O
    caps = connector.capabilities()
    assert (caps.max_batch_size, caps.idempotency, caps.default_currency) == (5000, "key", "USD")


def test_config_schema_describes_every_key_and_rejects_bad_accounts() -> None:
    schema = BeancountConfig.model_json_schema()
    assert all(prop.get("description") for prop in schema["properties"].values())
    with pytest.raises(ValueError, match="not a Beancount account name"):
        BeancountConfig(type="beancount", path="x", income_account="income:sales")
    with pytest.raises(ValueError, match="ISO 4217"):
        BeancountConfig(type="beancount", path="x", currency="DOLLARS")


def test_create_writes_an_open_directive_with_the_customer_as_metadata(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    customer = acme(billing_address=Address(street="1 Main St", city="Springfield", country="US"))
    [outcome] = books.apply([request("customers", "cus-1", customer)])

    assert outcome.ok
    assert outcome.target_id == "Assets:Receivable:Acme-Ltd"
    opened = _opens(tmp_path / "books.beancount")["Assets:Receivable:Acme-Ltd"]
    assert opened.date == date(2000, 1, 1)
    assert opened.currencies == ["USD"]
    assert opened.meta["ledgerlink"] == "cus-1"
    assert opened.meta["name"] == "Acme Ltd."
    assert opened.meta["city"] == "Springfield"
    assert opened.meta["credit_limit"] == Decimal("5000.00")
    [existing] = books.read_existing("customers")
    assert existing.record == customer
    assert existing.ledgerlink_id == "cus-1"


def test_same_names_get_distinct_accounts(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    outcomes = books.apply(
        [request("customers", f"cus-{n}", acme(display_name="Acme Ltd")) for n in range(3)]
    )
    assert [o.target_id for o in outcomes] == [
        "Assets:Receivable:Acme-Ltd",
        "Assets:Receivable:Acme-Ltd-2",
        "Assets:Receivable:Acme-Ltd-3",
    ]
    assert len(_opens(tmp_path / "books.beancount")) == 3


def test_a_retried_create_returns_the_existing_account_and_writes_nothing(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    first = books.apply([request("customers", "cus-1", acme())])
    ledger = tmp_path / "books.beancount"
    before = ledger.read_bytes()

    fresh = make_connector(tmp_path)  # a new process after a crash: no cache
    again = fresh.apply([request("customers", "cus-1", acme(email="new@acme.example"))])

    assert again[0].target_id == first[0].target_id
    assert ledger.read_bytes() == before


def test_the_same_create_twice_in_one_batch_writes_one_directive(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    outcomes = books.apply([request("customers", "cus-1", acme())] * 2)
    assert [o.target_id for o in outcomes] == ["Assets:Receivable:Acme-Ltd"] * 2
    assert len(_opens(tmp_path / "books.beancount")) == 1


def test_hand_made_accounts_are_listed_for_matching(tmp_path: Path) -> None:
    (tmp_path / "books.beancount").write_text(HAND_MADE)
    listed = {t.target_id: t for t in make_connector(tmp_path).read_existing("customers")}

    assert set(listed) == {"Assets:Receivable:Globex", "Assets:Receivable:Initech"}
    globex = listed["Assets:Receivable:Globex"]
    assert globex.ledgerlink_id == ""
    assert globex.record.display_name == "Globex"
    assert globex.record.email == "ap@globex.example"
    assert globex.record.currency == "USD"


def test_update_rewrites_metadata_in_place_and_keeps_everything_else(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    [created] = books.apply([request("customers", "cus-1", acme())])
    ledger = tmp_path / "books.beancount"
    text = ledger.read_text()
    own_txn = (
        '\n; a person\'s own work\n2026-01-02 * "Coffee"  ; paid cash\n'
        "  Assets:Receivable:Acme-Ltd   1.00 USD\n  Assets:Receivable:Acme-Ltd  -1.00 USD\n"
    )
    text = text.replace(
        '  name: "Acme Ltd."\n', '  name: "Acme Ltd."\n  ; the owner is Jane\n  region_code: "W"\n'
    )
    ledger.write_text(text + own_txn)

    update = request(
        "customers", "cus-1", acme(email="ar@acme.example"), "update", target_id=created.target_id
    )
    [outcome] = books.apply([update])

    assert outcome.ok
    after = ledger.read_text()
    assert after == text.replace("billing@acme.example", "ar@acme.example") + own_txn
    assert _opens(ledger)["Assets:Receivable:Acme-Ltd"].meta["region_code"] == "W"


def test_update_of_only_the_changed_fields_keeps_a_persons_correction(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    [created] = books.apply([request("customers", "cus-1", acme())])
    ledger = tmp_path / "books.beancount"
    ledger.write_text(ledger.read_text().replace("+14155550100", "+14155550199"))

    update = request(
        "customers",
        "cus-1",
        acme(email="ar@acme.example"),
        "update",
        target_id=created.target_id,
        changed=("email",),
    )
    books.apply([update])
    meta = _opens(ledger)["Assets:Receivable:Acme-Ltd"].meta
    assert (meta["email"], meta["phone"]) == ("ar@acme.example", "+14155550199")


def test_an_unchanged_update_writes_nothing(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    [created] = books.apply([request("customers", "cus-1", acme())])
    ledger = tmp_path / "books.beancount"
    before = ledger.stat().st_mtime_ns, ledger.read_bytes()
    books.apply([request("customers", "cus-1", acme(), "update", target_id=created.target_id)])
    assert (ledger.stat().st_mtime_ns, ledger.read_bytes()) == before


def test_update_adopts_a_hand_made_account(tmp_path: Path) -> None:
    ledger = tmp_path / "books.beancount"
    ledger.write_text(HAND_MADE)
    books = make_connector(tmp_path)
    update = request(
        "customers",
        "cus-9",
        acme(display_name="Globex Corporation", email="ap@globex.example"),
        "update",
        target_id="Assets:Receivable:Globex",
    )
    [outcome] = books.apply([update])
    assert outcome.target_id == "Assets:Receivable:Globex"
    opened = _opens(ledger)["Assets:Receivable:Globex"]
    assert (opened.meta["ledgerlink"], opened.meta["name"]) == ("cus-9", "Globex Corporation")
    assert ledger.read_text().startswith(
        HAND_MADE.split("2020-01-01 open Assets:Receivable:G", maxsplit=1)[0]
    )


def test_deactivate_closes_the_account_and_update_can_reopen_it(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    [created] = books.apply([request("customers", "cus-1", acme())])
    account = created.target_id
    [closed] = books.apply([request("customers", "cus-1", acme(), "deactivate", target_id=account)])
    assert closed.ok
    ledger = tmp_path / "books.beancount"
    closes = [e for e in load_ok(ledger) if isinstance(e, data.Close)]
    assert [(c.account, c.date) for c in closes] == [(account, date(2026, 6, 1))]
    [listed] = books.read_existing("customers")
    assert listed.record.active is False

    again = books.apply([request("customers", "cus-1", acme(), "deactivate", target_id=account)])
    assert again[0].ok
    assert len([e for e in load_ok(ledger) if isinstance(e, data.Close)]) == 1

    books.apply([request("customers", "cus-1", acme(), "update", target_id=account)])
    assert not [e for e in load_ok(ledger) if isinstance(e, data.Close)]
    assert next(iter(books.read_existing("customers"))).record.active is True


def test_update_of_an_account_a_person_deleted_is_a_record_error(tmp_path: Path) -> None:
    (tmp_path / "books.beancount").write_text(HAND_MADE)
    books = make_connector(tmp_path)
    [outcome] = books.apply(
        [request("customers", "cus-1", acme(), "update", target_id="Assets:Receivable:Gone")]
    )
    assert isinstance(outcome.error, RecordError)
    assert "not in the ledger" in str(outcome.error)
    assert "restore its `open` directive" in str(outcome.error)


def test_a_hand_closed_account_is_not_reopened(tmp_path: Path) -> None:
    ledger = tmp_path / "books.beancount"
    ledger.write_text(HAND_MADE + "2021-01-01 close Assets:Receivable:Initech\n")
    books = make_connector(tmp_path)
    before = ledger.read_bytes()
    [outcome] = books.apply(
        [request("customers", "c", acme(), "update", target_id="Assets:Receivable:Initech")]
    )
    assert isinstance(outcome.error, RecordError)
    assert "closed by hand" in outcome.error.message
    assert ledger.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "segment"),
    [
        ("Acme Ltd.", "Acme-Ltd"),
        ("élan vital", "Élan-vital"),
        ("Müller & Söhne GmbH", "Müller-Söhne-GmbH"),
        ("3M", "3M"),
        ("山田商事株式会社", "C-山田商事株式会社"),
        ("ßeta", "SSeta"),
        ('=HYPERLINK("x")', "HYPERLINK-x"),
        ("!!!", "Customer"),
        ("", "Customer"),
        ("हिन्दी Traders", "C-हिन्दी-Traders"),
    ],
)
def test_account_names_from_any_display_name_load(tmp_path: Path, name: str, segment: str) -> None:
    books = make_connector(tmp_path)
    [outcome] = books.apply([request("customers", "c1", acme(display_name=name))])
    assert outcome.target_id == f"Assets:Receivable:{segment}"
    assert _opens(tmp_path / "books.beancount")[outcome.target_id].meta.get("name", "") == name


@pytest.mark.parametrize(
    "text",
    [
        'Quote " and backslash \\ and \\" both',
        "=1+2",
        "+SUM(A1:A9)",
        "-2+3",
        "@import",
        "line\nbreak\ttab\rreturn",
        "; not a comment",
        "Zoë 🍕 中文 עברית",
        '"\\n" literally',
    ],
)
def test_strings_round_trip_as_plain_text(tmp_path: Path, text: str) -> None:
    books = make_connector(tmp_path)
    customer = acme(display_name=text, notes=text, company=text)
    books.apply([request("customers", "c1", customer)])
    [listed] = make_connector(tmp_path).read_existing("customers")
    assert (listed.record.display_name, listed.record.notes, listed.record.company) == (
        text,
        text,
        text,
    )


def test_unknown_currency_fails_only_that_customer(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    outcomes = books.apply(
        [
            request("customers", "c1", acme(currency="XYZ")),
            request("customers", "c2", acme(display_name="Fine Co")),
        ]
    )
    assert isinstance(outcomes[0].error, RecordError)
    assert "unknown currency" in outcomes[0].error.message
    assert outcomes[1].target_id == "Assets:Receivable:Fine-Co"
    assert set(_opens(tmp_path / "books.beancount")) == {"Assets:Receivable:Fine-Co"}


def test_an_account_a_person_renamed_is_found_by_its_ledgerlink_id(tmp_path: Path) -> None:
    books = make_connector(tmp_path)
    [created] = books.apply([request("customers", "cus-1", acme())])
    ledger = tmp_path / "books.beancount"
    ledger.write_text(ledger.read_text().replace("Acme-Ltd", "AcmeCorp"))

    update = request(
        "customers", "cus-1", acme(phone="+1 555"), "update", target_id=created.target_id
    )
    [outcome] = books.apply([update])
    assert outcome.target_id == "Assets:Receivable:AcmeCorp"
    assert _opens(ledger)["Assets:Receivable:AcmeCorp"].meta["phone"] == "+1 555"
