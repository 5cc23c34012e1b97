"""File mode: import files for an accountant, a manifest, and re-runs that add only changes."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from ledgerlink.connectors.base import WriteRequest
from ledgerlink.connectors.tally.connector import TallyConnector
from ledgerlink.connectors.tally.filemode import write_atomically
from ledgerlink.errors import ConnectionFailedError, RecordError
from tests.emulators.tally import TallyEmulator
from tests.emulators.tally.samples import (
    KARNATAKA_GSTIN,
    connector,
    create_customer,
    create_invoice,
    customer,
    invoice,
    ll_id,
)

MUMBAI = customer("Mumbai Mart", state="Maharashtra")
BHARAT = customer("Bharat Traders", gstin=KARNATAKA_GSTIN, state="Karnataka")


def first_run() -> list[WriteRequest]:
    items = invoice(["250", "40"], skus=["ROD-1", "NUT-2"], quantities=[10, 4], number="SL/2")
    return [
        create_customer(1, MUMBAI),
        create_customer(2, BHARAT),
        create_invoice(3, invoice(["100"], number="SL/1"), "Mumbai Mart"),
        create_invoice(4, items, "Bharat Traders"),
    ]


@pytest.fixture
def books(tmp_path: Path) -> TallyConnector:
    (tmp_path / "tally").mkdir()
    return connector(base_dir=tmp_path, file="tally/ledgerlink.xml")


def objects(path: Path) -> list[tuple[str, str]]:
    """(tag, REMOTEID or NAME) of every object in an import file."""
    root = etree.fromstring(path.read_bytes())
    return [
        (node.tag, node.get("REMOTEID") or node.get("NAME") or "")
        for message in root.iter("TALLYMESSAGE")
        for node in message
    ]


def test_file_mode_writes_masters_then_vouchers_and_says_how_to_import(
    books: TallyConnector, tmp_path: Path
) -> None:
    outcomes = books.apply(first_run())
    assert [o.target_id for o in outcomes] == ["Mumbai Mart", "Bharat Traders", ll_id(3), ll_id(4)]
    folder = tmp_path / "tally"
    assert objects(folder / "ledgerlink-masters.xml") == [
        ("LEDGER", ll_id(1)), ("LEDGER", ll_id(2)), ("STOCKITEM", "NUT-2"), ("STOCKITEM", "ROD-1"),
    ]  # fmt: skip
    assert objects(folder / "ledgerlink-vouchers.xml") == [
        ("VOUCHER", ll_id(3)),
        ("VOUCHER", ll_id(4)),
    ]
    assert (folder / "ledgerlink.manifest.json").exists()
    said = books.check()
    assert "Import > Masters" in said
    assert str(folder / "ledgerlink-masters.xml") in said
    assert said.index("Masters") < said.index("Transactions")
    assert books.readable_streams() == ()


def test_the_files_import_cleanly_into_tally_and_again_without_duplicates(
    books: TallyConnector, tmp_path: Path
) -> None:
    books.apply(first_run())
    emulator = TallyEmulator()
    for name in ("ledgerlink-masters.xml", "ledgerlink-vouchers.xml"):
        answer, _ = emulator.handle((tmp_path / "tally" / name).read_bytes(), "text/xml")
        response = etree.fromstring(answer)
        assert response.tag == "RESPONSE"
        assert response.findtext("ERRORS") == "0", response.findall("LINEERROR")
    company = emulator.company()
    assert sorted(company.vouchers) == [ll_id(3), ll_id(4)]
    emulator.handle((tmp_path / "tally" / "ledgerlink-vouchers.xml").read_bytes(), "text/xml")
    assert sorted(company.vouchers) == [ll_id(3), ll_id(4)]


def test_a_rerun_with_nothing_new_touches_no_file(books: TallyConnector, tmp_path: Path) -> None:
    books.apply(first_run())
    folder = tmp_path / "tally"
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("*.xml")}
    outcomes = books.apply(first_run())
    assert all(o.ok for o in outcomes)
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("*.xml")} == before


def test_after_the_accountant_imported_a_rerun_writes_only_new_or_changed_objects(
    books: TallyConnector, tmp_path: Path
) -> None:
    books.apply(first_run())
    folder = tmp_path / "tally"
    for imported in folder.glob("*.xml"):
        imported.unlink()
    changed = WriteRequest(
        "update", "invoices", ll_id(3), "k", invoice(["120"], number="SL/1"),
        target_id=ll_id(3), references={"customer": "Mumbai Mart"},
    )  # fmt: skip
    new = create_invoice(5, invoice(["75"], number="SL/3"), "Bharat Traders")
    books.apply([*first_run(), changed, new])
    assert not (folder / "ledgerlink-masters.xml").exists()
    assert objects(folder / "ledgerlink-vouchers.xml") == [
        ("VOUCHER", ll_id(3)),
        ("VOUCHER", ll_id(5)),
    ]
    root = etree.fromstring((folder / "ledgerlink-vouchers.xml").read_bytes())
    assert [v.get("ACTION") for v in root.iter("VOUCHER")] == ["Alter", "Create"]
    assert "Import > Transactions" in books.check()


def test_a_change_to_an_object_still_waiting_in_the_file_stays_one_create(
    books: TallyConnector, tmp_path: Path
) -> None:
    books.apply(first_run())
    renamed = replace(MUMBAI, display_name="Mumbai Mart LLP")
    update = WriteRequest("update", "customers", ll_id(1), "k", renamed, target_id="Mumbai Mart")
    [outcome] = books.apply([update])
    assert outcome.target_id == "Mumbai Mart LLP"
    root = etree.fromstring((tmp_path / "tally" / "ledgerlink-masters.xml").read_bytes())
    ledgers = [n for n in root.iter("LEDGER") if n.get("REMOTEID") == ll_id(1)]
    assert [(n.get("ACTION"), n.get("NAME")) for n in ledgers] == [("Create", "Mumbai Mart LLP")]
    [later] = books.apply([create_invoice(6, invoice(["10"]), "Mumbai Mart LLP")])
    assert later.ok


def test_a_bad_gstin_is_dead_lettered_and_nothing_is_written_for_it(
    books: TallyConnector, tmp_path: Path
) -> None:
    [outcome] = books.apply([create_customer(9, customer("Typo Co", gstin="29AAGCB7383J1Z5"))])
    assert isinstance(outcome.error, RecordError)
    assert "29AAGCB7383J1Z5" in outcome.error.message
    assert not (tmp_path / "tally" / "ledgerlink-masters.xml").exists()


def test_an_invoice_for_a_party_never_exported_is_dead_lettered(books: TallyConnector) -> None:
    [outcome] = books.apply([create_invoice(3, invoice(["100"]), "Stranger Ltd")])
    assert isinstance(outcome.error, RecordError)
    assert "Stranger Ltd" in outcome.error.message


def test_a_missing_folder_is_reported_by_check(tmp_path: Path) -> None:
    books = connector(base_dir=tmp_path, file="nowhere/ledgerlink.xml")
    with pytest.raises(ConnectionFailedError, match="does not exist"):
        books.check()


def test_an_interrupted_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "file.xml"
    target.write_bytes(b"old")

    def crash(_src: object, _dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.xml"]


def test_existing_customers_in_file_mode_are_what_was_exported(books: TallyConnector) -> None:
    books.apply(first_run()[:2])
    found = {t.target_id: t.ledgerlink_id for t in books.read_existing("customers")}
    assert found == {"Mumbai Mart": ll_id(1), "Bharat Traders": ll_id(2)}
