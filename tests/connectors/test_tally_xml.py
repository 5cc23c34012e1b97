"""Tally's XML, read safely: UTF-8 and UTF-16, control characters, and no DTD or entity tricks."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from lxml import etree

from ledgerlink.canonical.records import Customer
from ledgerlink.connectors.tally import xml
from ledgerlink.errors import FatalError, TransientError
from tests.emulators.tally import Fault, TallyEmulator
from tests.emulators.tally.books import stored_text
from tests.emulators.tally.samples import connector, create_customer, customer

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]><ENVELOPE><BODY>&lol9;</BODY></ENVELOPE>"
)
QUADRATIC = (
    '<!DOCTYPE ENVELOPE [<!ENTITY a "'
    + "x" * 50_000
    + '">]><ENVELOPE>'
    + "&a;" * 50_000
    + "</ENVELOPE>"
)


def xxe(secret_file: Path) -> str:
    return (
        '<?xml version="1.0"?><!DOCTYPE ENVELOPE [<!ENTITY xxe SYSTEM "'
        + secret_file.as_uri()
        + '">]><ENVELOPE><BODY><DATA><LINEERROR>&xxe;</LINEERROR></DATA></BODY></ENVELOPE>'
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16"])
def test_external_entities_are_refused_before_parsing_in_any_encoding(
    secret_file: Path, encoding: str
) -> None:
    with pytest.raises(xml.UnsafeXmlError):
        xml.parse(xxe(secret_file).encode(encoding))


def test_a_lower_case_or_remote_dtd_is_refused_too() -> None:
    with pytest.raises(xml.UnsafeXmlError):
        xml.parse('<!doctype ENVELOPE SYSTEM "http://127.0.0.1:9/evil.dtd"><ENVELOPE/>')


@pytest.mark.parametrize(
    "payload", [BILLION_LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic"]
)
def test_entity_bombs_are_refused_without_expanding_them(payload: str) -> None:
    with pytest.raises(xml.UnsafeXmlError):
        xml.parse(payload)


def test_the_parser_itself_neither_expands_nor_fetches_entities(secret_file: Path) -> None:
    # Defence in depth: even a document that slipped past the textual check stays inert.
    root = etree.fromstring(xxe(secret_file).encode(), xml._parser())
    assert "TOP-SECRET-VALUE" not in etree.tostring(root, encoding="unicode")
    # libxml2 refuses the bomb by its own amplification limit; it never expands it.
    with pytest.raises(etree.XMLSyntaxError, match="amplification"):
        etree.fromstring(BILLION_LAUGHS.encode(), xml._parser())


def test_control_characters_raw_and_as_references_are_removed() -> None:
    root = xml.parse("<ENVELOPE><NAME>Acme\x04 Tra\x1fders&#4;&#x1F;&#38;Co&#10;</NAME></ENVELOPE>")
    assert root.findtext("NAME") == "Acme Traders&Co\n"


@pytest.mark.parametrize(
    "data",
    [
        "<A>₹ भारत</A>".encode("utf-16-le"),
        codecs.BOM_UTF16_LE + "<A>₹ भारत</A>".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "<A>₹ भारत</A>".encode("utf-16-be"),
        "<A>₹ भारत</A>".encode("utf-16-be"),
        codecs.BOM_UTF8 + '<?xml version="1.0" encoding="utf-8"?><A>₹ भारत</A>'.encode(),
        '<?xml version="1.0" encoding="UTF-16"?><A>₹ भारत</A>'.encode("utf-16"),
    ],
    ids=["utf16le", "utf16le-bom", "utf16be-bom", "utf16be", "utf8-bom", "utf16-declared"],
)
def test_every_encoding_tally_answers_in_is_read(data: bytes) -> None:
    assert xml.parse(data).text == "₹ भारत"


def test_windows_code_page_answers_are_still_read() -> None:
    assert xml.parse("<A>Caf\xe9</A>".encode("cp1252")).text == "Café"


def test_text_we_send_has_control_characters_removed() -> None:
    node = xml.element("LEDGER", NAME="Acme\x0b Ltd")
    xml.sub(node, "ADDRESS", "Line\x01 one")
    assert xml.render(node).endswith(
        b'<LEDGER NAME="Acme Ltd"><ADDRESS>Line one</ADDRESS></LEDGER>'
    )


# -- through the connector ------------------------------------------------------------------


def test_an_answer_carrying_an_external_entity_stops_the_pipe(secret_file: Path) -> None:
    emulator = TallyEmulator()
    emulator.faults.append(Fault("raw", xxe(secret_file).encode()))
    with pytest.raises(FatalError) as raised:
        connector(emulator).check()
    assert "DTD" in str(raised.value)
    assert "TOP-SECRET-VALUE" not in str(raised.value)


def test_an_answer_that_is_not_xml_is_retried_later() -> None:
    emulator = TallyEmulator()
    emulator.faults.append(Fault("raw", b"<ENVELOPE><BODY>cut off"))
    with pytest.raises(TransientError, match="not XML"):
        connector(emulator).check()


def test_utf16_requests_get_utf16_answers_and_names_in_indian_scripts_survive() -> None:
    emulator = TallyEmulator()
    books = connector(emulator, encoding="utf-16")
    name = "भारत ट्रेडर्स ₹"
    [outcome] = books.apply([create_customer(1, customer(name, state="Maharashtra"))])
    assert outcome.ok
    assert outcome.target_id == name
    assert set(emulator.encodings) == {"utf-16"}
    found = {t.target_id: t.record for t in books.read_existing("customers")}
    record = found[name]
    assert isinstance(record, Customer)
    assert record.display_name == name


def test_control_characters_in_tallys_data_are_dropped_when_read_back() -> None:
    emulator = TallyEmulator()
    emulator.import_xml(
        '<LEDGER NAME="Kumar Stores"><PARENT>Sundry Debtors</PARENT>'
        "<ADDRESS.LIST><ADDRESS>12 Station Rd</ADDRESS></ADDRESS.LIST>"
        "<EMAIL>kumar@example.in</EMAIL></LEDGER>"
    )
    ledger = emulator.company().master("LEDGER", "Kumar Stores")
    assert ledger is not None
    address = ledger.node.find("ADDRESS.LIST/ADDRESS")
    assert address is not None
    address.text = stored_text("12 Station\x04 Rd\x1f")  # Tally keeps such characters
    [found] = [
        t for t in connector(emulator).read_existing("customers") if t.target_id == "Kumar Stores"
    ]
    assert isinstance(found.record, Customer)
    assert found.record.billing_address is not None
    assert found.record.billing_address.street == "12 Station Rd"
    assert found.record.email == "kumar@example.in"
