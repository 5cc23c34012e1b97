"""The Tally emulator is strict where Tally is: a client that passes it should pass Tally."""

from __future__ import annotations

import codecs

import pytest
from lxml import etree

from tests.emulators.tally import TallyEmulator

ENVELOPE = (
    "<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Import</TALLYREQUEST><TYPE>Data</TYPE>"
    "<ID>Vouchers</ID></HEADER><BODY><DESC><STATICVARIABLES>"
    "<SVCURRENTCOMPANY>{company}</SVCURRENTCOMPANY></STATICVARIABLES></DESC><DATA>"
    '<TALLYMESSAGE xmlns:UDF="TallyUDF">{objects}</TALLYMESSAGE></DATA></BODY></ENVELOPE>'
)


def entry(ledger: str, amount: str, deemed: str | None = None, bills: str = "") -> str:
    positive = deemed or ("Yes" if amount.startswith("-") else "No")
    return (
        f"<ALLLEDGERENTRIES.LIST><LEDGERNAME>{ledger}</LEDGERNAME>"
        f"<ISDEEMEDPOSITIVE>{positive}</ISDEEMEDPOSITIVE><AMOUNT>{amount}</AMOUNT>{bills}"
        "</ALLLEDGERENTRIES.LIST>"
    )


def sale(*entries: str, party: str = "Mumbai Mart", remote: str = "", extra: str = "") -> str:
    remote_id = f' REMOTEID="{remote}"' if remote else ""
    return (
        f'<VOUCHER VCHTYPE="Sales" ACTION="Create"{remote_id}><DATE>20250415</DATE>'
        f"<VOUCHERTYPENAME>Sales</VOUCHERTYPENAME><PARTYLEDGERNAME>{party}</PARTYLEDGERNAME>"
        f"{extra}{''.join(entries)}</VOUCHER>"
    )


@pytest.fixture
def emulator() -> TallyEmulator:
    emulator = TallyEmulator()
    counts = emulator.import_xml(
        '<LEDGER NAME="Mumbai Mart"><PARENT>Sundry Debtors</PARENT>'
        "<LEDSTATENAME>Maharashtra</LEDSTATENAME></LEDGER>"
        '<LEDGER NAME="Bharat Traders"><PARENT>Sundry Debtors</PARENT>'
        "<PARTYGSTIN>29AAGCB7383J1Z4</PARTYGSTIN><LEDSTATENAME>Karnataka</LEDSTATENAME></LEDGER>"
    )
    assert counts.created == 2
    return emulator


def post(emulator: TallyEmulator, objects: str, *, encoding: str = "utf-8") -> etree._Element:
    body = ENVELOPE.format(company="Acme (2025-26)", objects=objects).encode(encoding)
    answer, content_type = emulator.handle(body, f"text/xml; charset={encoding}")
    if encoding.startswith("utf-16"):
        assert "utf-16" in content_type
        return etree.fromstring(answer.decode("utf-16-le").encode())
    return etree.fromstring(answer)


def result(root: etree._Element) -> tuple[dict[str, str], list[str]]:
    counts = root.find("BODY/DATA/IMPORTRESULT")
    assert counts is not None
    return {c.tag: c.text or "" for c in counts}, [e.text or "" for e in root.iter("LINEERROR")]


BALANCED = (
    entry("Mumbai Mart", "-118.00"),
    entry("Sales", "100.00"),
    entry("Output CGST", "9.00"),
    entry("Output SGST", "9.00"),
)


def test_a_balanced_gst_sale_is_created_and_answered_in_tallys_shape(
    emulator: TallyEmulator,
) -> None:
    root = post(emulator, sale(*BALANCED))
    counts, errors = result(root)
    assert root.findtext("HEADER/STATUS") == "1"
    assert errors == []
    assert counts == {
        "CREATED": "1", "ALTERED": "0", "DELETED": "0", "LASTVCHID": "1", "LASTMID": "0",
        "COMBINED": "0", "IGNORED": "0", "ERRORS": "0", "CANCELLED": "0", "EXCEPTIONS": "0",
    }  # fmt: skip


PARTY, SALES, CGST, SGST = BALANCED
REFUSED = {
    "cgst-alone": (
        (entry("Mumbai Mart", "-109.00"), SALES, CGST),
        "CGST and SGST must be charged together",
    ),
    "igst-local": (
        (PARTY, SALES, entry("Output IGST", "18.00")),
        "IGST cannot be charged on a supply within Maharashtra",
    ),
    "unbalanced": (
        (entry("Mumbai Mart", "-117.00"), SALES, CGST, SGST),
        "Voucher totals do not match! Dr: 117.00 Cr: 118.00",
    ),
    "sign": (
        (entry("Mumbai Mart", "-118.00", deemed="No"), SALES, CGST, SGST),
        "does not agree with its amount",
    ),
    "unknown-ledger": (
        (PARTY, entry("Sales A/c", "100.00"), CGST, SGST),
        "Ledger 'Sales A/c' does not exist!",
    ),
    "unequal-halves": (
        (PARTY, SALES, entry("Output CGST", "9.02"), entry("Output SGST", "8.98")),
        "not equal halves",
    ),
}


@pytest.mark.parametrize(("entries", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_vouchers_tally_would_refuse_get_a_lineerror(
    emulator: TallyEmulator, entries: tuple[str, ...], message: str
) -> None:
    counts, errors = result(post(emulator, sale(*entries)))
    assert counts["ERRORS"] == "1"
    assert counts["CREATED"] == "0"
    assert len(errors) == 1
    assert message in errors[0]


def test_cgst_on_a_sale_to_another_state_is_refused(emulator: TallyEmulator) -> None:
    objects = sale(*[entry("Bharat Traders", "-118.00"), *BALANCED[1:]], party="Bharat Traders")
    _, errors = result(post(emulator, objects))
    assert "CGST/SGST cannot be charged on an inter-state supply" in errors[0]


def test_one_bad_voucher_does_not_stop_the_others(emulator: TallyEmulator) -> None:
    bad = sale(entry("Mumbai Mart", "-1.00"), entry("Sales", "2.00"))
    counts, errors = result(post(emulator, sale(*BALANCED) + bad + sale(*BALANCED)))
    assert (counts["CREATED"], counts["ERRORS"], len(errors)) == ("2", "1", 1)


def test_remoteid_is_the_identity_and_alter_ids_only_go_up(emulator: TallyEmulator) -> None:
    company = emulator.company()
    post(emulator, sale(*BALANCED, remote="ll-1"))
    first = company.vouchers["ll-1"].alter_id
    counts, _ = result(post(emulator, sale(*BALANCED, remote="ll-1")))
    assert (counts["CREATED"], counts["ALTERED"]) == ("0", "1")
    assert list(company.vouchers) == ["ll-1"]
    assert company.vouchers["ll-1"].alter_id == company.alt_voucher_id > first
    emulator.import_xml('<LEDGER NAME="Mumbai Mart" ACTION="Alter"><EMAIL>a@b.in</EMAIL></LEDGER>')
    assert company.alt_master_id == company.alt_voucher_id + 1


def test_ledgers_with_a_bad_gstin_or_a_wrong_state_are_refused(emulator: TallyEmulator) -> None:
    counts = emulator.import_xml(
        '<LEDGER NAME="A"><PARENT>Sundry Debtors</PARENT>'
        "<PARTYGSTIN>29AAGCB7383J1Z5</PARTYGSTIN></LEDGER>"
        '<LEDGER NAME="B"><PARENT>Sundry Debtors</PARENT><PARTYGSTIN>29AAGCB7383J1Z4</PARTYGSTIN>'
        "<LEDSTATENAME>Goa</LEDSTATENAME></LEDGER>"
        '<LEDGER NAME="C"><PARENT>Debtors</PARENT></LEDGER>'
    )
    assert counts.line_errors == [
        "GSTIN/UIN '29AAGCB7383J1Z5' is invalid",
        "State 'Goa' does not match the GSTIN/UIN '29AAGCB7383J1Z4'",
        "Group 'Debtors' does not exist!",
    ]


def test_a_duplicate_master_is_combined_unless_told_otherwise(emulator: TallyEmulator) -> None:
    master = (
        '<LEDGER NAME="Mumbai Mart" ACTION="Create"><PARENT>Sundry Debtors</PARENT>'
        "<EMAIL>x@y.in</EMAIL></LEDGER>"
    )
    assert emulator.import_xml(master).combined == 1
    assert emulator.import_xml(master, dups="@@DUPIGNORECOMBINE").ignored == 1
    assert emulator.import_xml(master, dups="@@DUPMODIFY").altered == 1
    ledger = emulator.company().master("LEDGER", "Mumbai Mart")
    assert ledger is not None
    assert ledger.text("EMAIL") == "x@y.in"


def test_utf16_requests_get_utf16_answers(emulator: TallyEmulator) -> None:
    body = ENVELOPE.format(company="Acme (2025-26)", objects=sale(*BALANCED))
    for data in (body.encode("utf-16-le"), codecs.BOM_UTF16_LE + body.encode("utf-16-le")):
        answer, content_type = emulator.handle(data, "text/xml;charset=utf-16")
        assert content_type == "text/xml; charset=utf-16"
        assert answer[1] == 0  # UTF-16LE, no BOM, as tally-database-loader reads it
        assert "<CREATED>1</CREATED>" in answer.decode("utf-16-le")


def test_a_company_that_is_not_loaded_is_an_error(emulator: TallyEmulator) -> None:
    body = ENVELOPE.format(company="Nobody Ltd", objects="").encode()
    answer, _ = emulator.handle(body, "text/xml")
    root = etree.fromstring(answer)
    assert root.findtext("HEADER/STATUS") == "0"
    assert (
        root.findtext("BODY/DATA/LINEERROR") == "Could not set 'SVCurrentCompany' to 'Nobody Ltd'"
    )


def test_collections_filter_by_alter_id_and_unknown_ones_are_errors(
    emulator: TallyEmulator,
) -> None:
    request = (
        "<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Export</TALLYREQUEST>"
        "<TYPE>Collection</TYPE><ID>{name}</ID></HEADER><BODY><DESC><TDL><TDLMESSAGE>"
        '<COLLECTION NAME="Parties"><TYPE>Ledger</TYPE><CHILDOF>$$GroupSundryDebtors</CHILDOF>'
        "<FETCH>Name,AlterID</FETCH><FILTER>Recent</FILTER></COLLECTION>"
        '<SYSTEM TYPE="Formulae" NAME="Recent">$AlterID &gt; {after}</SYSTEM>'
        "</TDLMESSAGE></TDL></DESC></BODY></ENVELOPE>"
    )
    bharat = emulator.company().master("LEDGER", "Bharat Traders")
    assert bharat is not None
    answer, _ = emulator.handle(
        request.format(name="Parties", after=bharat.alter_id - 1).encode(), None
    )
    names = [n.get("NAME") for n in etree.fromstring(answer).iter("LEDGER")]
    assert names == ["Bharat Traders"]
    answer, _ = emulator.handle(request.format(name="Nope", after=0).encode(), None)
    assert etree.fromstring(answer).findtext(".//LINEERROR") == "Could not find Collection 'Nope'"
