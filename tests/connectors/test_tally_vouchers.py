"""Sales vouchers, credit notes and receipts: GST split, round-off, signs, and exact balance."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ledgerlink.canonical.records import InvoiceLine, Payment
from ledgerlink.connectors.tally.translate import voucher_element
from ledgerlink.connectors.tally.vouchers import (
    Party,
    VoucherSpec,
    credit_note,
    receipt,
    sales_voucher,
)
from ledgerlink.errors import RecordError
from tests.emulators.tally import TallyEmulator
from tests.emulators.tally.samples import config, invoice

MUMBAI = Party("Mumbai Mart", "27")
BENGALURU = Party("Bharat Traders", "29", "29AAGCB7383J1Z4")
ABROAD = Party("Globex GmbH", None, abroad=True)
UNKNOWN = Party("Walk-in Customer")


def amounts(spec: VoucherSpec) -> dict[str, Decimal]:
    """Ledger → amount, as the rendered XML carries it (Tally's sign)."""
    node = voucher_element(spec)
    found: dict[str, Decimal] = {}
    for entry in node.iter(
        "ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST", "ACCOUNTINGALLOCATIONS.LIST"
    ):
        name = entry.findtext("LEDGERNAME") or ""
        found[name] = found.get(name, Decimal(0)) + Decimal(entry.findtext("AMOUNT") or "0")
    return found


def test_same_state_sale_credits_cgst_and_sgst_in_halves_and_debits_the_party() -> None:
    spec = sales_voucher(invoice(["100000"]), MUMBAI, config(), remote_id="ll-1")
    assert amounts(spec) == {
        "Mumbai Mart": Decimal("-118000.00"),
        "Sales": Decimal("100000.00"),
        "Output CGST": Decimal("9000.00"),
        "Output SGST": Decimal("9000.00"),
    }


def test_sale_to_another_state_credits_igst() -> None:
    spec = sales_voucher(invoice(["100000"]), BENGALURU, config(), remote_id="ll-1")
    assert amounts(spec)["Output IGST"] == Decimal("18000.00")
    assert "Output CGST" not in amounts(spec)
    assert spec.place_of_supply == "Karnataka"
    assert spec.party_gstin == "29AAGCB7383J1Z4"


def test_a_customer_abroad_is_charged_igst_and_unknown_state_counts_as_local() -> None:
    assert "Output IGST" in amounts(sales_voucher(invoice(["10"]), ABROAD, config(), remote_id="x"))
    assert "Output CGST" in amounts(
        sales_voucher(invoice(["10"]), UNKNOWN, config(), remote_id="x")
    )


def test_an_odd_paisa_of_tax_still_balances_with_cgst_taking_it() -> None:
    spec = sales_voucher(invoice(["0.50"]), MUMBAI, config(), remote_id="ll-1")
    assert amounts(spec) == {
        "Mumbai Mart": Decimal("-0.59"),
        "Sales": Decimal("0.50"),
        "Output CGST": Decimal("0.05"),
        "Output SGST": Decimal("0.04"),
    }


def test_ledger_names_can_carry_the_rate() -> None:
    cfg = config(
        cgst_ledger="Output CGST @{rate}%",
        sgst_ledger="Output SGST @{rate}%",
        igst_ledger="Output IGST @{rate}%",
    )
    local = amounts(sales_voucher(invoice(["100"], "5"), MUMBAI, cfg, remote_id="x"))
    assert local["Output CGST @2.5%"] == Decimal("2.50")
    assert local["Output SGST @2.5%"] == Decimal("2.50")
    other = amounts(sales_voucher(invoice(["100"], "12"), BENGALURU, cfg, remote_id="x"))
    assert other["Output IGST @12%"] == Decimal("12.00")


@pytest.mark.parametrize(
    ("net", "party", "round_off"),
    [
        ("1000.41", "-1180.00", "-0.48"),
        ("1000.42", "-1181.00", "0.50"),
        ("1000.43", "-1181.00", "0.49"),
        ("1000.00", "-1180.00", None),
    ],
)
def test_round_off_to_the_rupee_posts_the_difference(
    net: str, party: str, round_off: str | None
) -> None:
    spec = sales_voucher(invoice([net]), MUMBAI, config(round_to="1"), remote_id="ll-1")
    found = amounts(spec)
    assert found["Mumbai Mart"] == Decimal(party)
    assert found.get("Round Off") == (Decimal(round_off) if round_off else None)
    assert spec.imbalance() == 0


def test_lines_with_skus_use_the_invoice_view_with_stock_items() -> None:
    spec = sales_voucher(
        invoice(["250", "100"], skus=["ROD-1", "NUT-2"], quantities=[10, 4]),
        MUMBAI,
        config(),
        remote_id="ll-1",
    )
    node = voucher_element(spec)
    assert node.get("OBJVIEW") == "Invoice Voucher View"
    assert node.findtext("ISINVOICE") == "Yes"
    stock = node.findall("ALLINVENTORYENTRIES.LIST")
    assert [s.findtext("STOCKITEMNAME") for s in stock] == ["ROD-1", "NUT-2"]
    assert [s.findtext("ACTUALQTY") for s in stock] == ["10 Nos", "4 Nos"]
    assert stock[0].findtext("RATE") == "25.00/Nos"
    assert node.findall("ALLLEDGERENTRIES.LIST") == []


@pytest.mark.parametrize("stock_items", [True, False])
def test_without_skus_or_with_fractional_quantities_the_accounting_view_is_used(
    stock_items: bool,
) -> None:
    rod = InvoiceLine("Rod", Decimal("2.5"), Decimal(10), Decimal(25), sku="ROD-1")
    fractional = replace(invoice(["25"]), lines=(rod,))
    for record in (fractional, invoice(["25"])):
        spec = sales_voucher(record, MUMBAI, config(stock_items=stock_items), remote_id="x")
        assert not spec.invoice_view
        assert voucher_element(spec).get("OBJVIEW") == "Accounting Voucher View"


def test_party_line_opens_a_bill_named_after_the_invoice_with_its_credit_period() -> None:
    node = voucher_element(
        sales_voucher(invoice(["100"], number="SL/42"), MUMBAI, config(), remote_id="x")
    )
    party = node.find("ALLLEDGERENTRIES.LIST")
    assert party is not None
    assert party.findtext("ISDEEMEDPOSITIVE") == "Yes"
    assert party.findtext("BILLALLOCATIONS.LIST/NAME") == "SL/42"
    assert party.findtext("BILLALLOCATIONS.LIST/BILLTYPE") == "New Ref"
    assert party.findtext("BILLALLOCATIONS.LIST/BILLCREDITPERIOD") == "30 Days"
    assert party.findtext("BILLALLOCATIONS.LIST/AMOUNT") == "-118.00"


def test_a_credit_note_reverses_every_line_against_the_bill() -> None:
    record = invoice(["100"], number="SL/42")
    sale = amounts(sales_voucher(record, MUMBAI, config(), remote_id="ll-1"))
    note = credit_note(
        record,
        MUMBAI,
        config(),
        invoice_remote_id="ll-1",
        remote_id="ll-1-cn",
        when=date(2025, 6, 1),
    )
    assert amounts(note) == {ledger: -amount for ledger, amount in sale.items()}
    node = voucher_element(note)
    assert node.findtext("VOUCHERTYPENAME") == "Credit Note"
    assert node.findtext("ALLLEDGERENTRIES.LIST/BILLALLOCATIONS.LIST/BILLTYPE") == "Agst Ref"


def test_a_receipt_credits_the_party_against_the_bill() -> None:
    payment = Payment("SL/42", Decimal("118"), "INR", date(2025, 5, 2), reference="UTR123")
    spec = receipt(payment, "Mumbai Mart", "SL/42", config(), remote_id="ll-9")
    assert amounts(spec) == {"Mumbai Mart": Decimal("118.00"), "Cash": Decimal("-118.00")}


def test_an_invoice_in_another_currency_is_refused() -> None:
    record = replace(invoice(["100"]), currency="USD")
    with pytest.raises(RecordError, match="USD but the Tally company keeps its books in INR"):
        sales_voucher(record, MUMBAI, config(), remote_id="x")


# -- every voucher balances -----------------------------------------------------------------

RATES = st.sampled_from(["0", "0.25", "3", "5", "12", "18", "28"])


@st.composite
def random_invoices(draw: st.DrawFn) -> tuple[list[str], str, list[str] | None, list[int] | None]:
    count = draw(st.integers(min_value=1, max_value=5))
    paise = draw(
        st.lists(st.integers(min_value=1, max_value=10**9), min_size=count, max_size=count)
    )
    with_skus = draw(st.booleans())
    quantities = (
        draw(st.lists(st.integers(1, 50), min_size=count, max_size=count)) if with_skus else None
    )
    nets = [
        str(Decimal(p * q) / 100) for p, q in zip(paise, quantities or [1] * count, strict=True)
    ]
    skus = [f"SKU-{i}" for i in range(count)] if with_skus else None
    return nets, draw(RATES), skus, quantities


def _signs_and_balance(spec: VoucherSpec) -> None:
    node = voucher_element(spec)
    total = Decimal(0)
    for entry in node.iter(
        "ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST", "ACCOUNTINGALLOCATIONS.LIST"
    ):
        amount = Decimal(entry.findtext("AMOUNT") or "0")
        assert (entry.findtext("ISDEEMEDPOSITIVE") == "Yes") == (amount < 0)
        assert amount == amount.quantize(Decimal("0.01"))
        total += amount
    assert total == 0


@given(
    random_invoices(),
    st.sampled_from([MUMBAI, BENGALURU, ABROAD, UNKNOWN]),
    st.sampled_from([None, "1", "0.05", "10"]),
)
def test_every_voucher_balances_exactly_with_tallys_signs(
    drawn: tuple[list[str], str, list[str] | None, list[int] | None],
    party: Party,
    round_to: str | None,
) -> None:
    nets, rate, skus, quantities = drawn
    record = invoice(nets, rate, skus=skus, quantities=quantities, number="INV-1")
    cfg = config(round_to=round_to)
    sale = sales_voucher(record, party, cfg, remote_id="ll-1")
    _signs_and_balance(sale)
    party_total = -amounts(sale)[party.name]
    assert abs(party_total - record.total) <= (Decimal(round_to) / 2 if round_to else 0)
    _signs_and_balance(
        credit_note(
            record, party, cfg, invoice_remote_id="ll-1", remote_id="c", when=date(2025, 6, 1)
        )
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_invoices(), st.booleans(), st.sampled_from([None, "1"]))
def test_the_emulator_accepts_every_voucher_we_build(
    drawn: tuple[list[str], str, list[str] | None, list[int] | None],
    local: bool,
    round_to: str | None,
) -> None:
    nets, rate, skus, quantities = drawn
    emulator = TallyEmulator()
    party = "Mumbai Mart" if local else "Bharat Traders"
    state, gstin = ("Maharashtra", "") if local else ("Karnataka", "29AAGCB7383J1Z4")
    emulator.import_xml(
        f'<LEDGER NAME="{party}" ACTION="Create"><PARENT>Sundry Debtors</PARENT>'
        f"<LEDSTATENAME>{state}</LEDSTATENAME><PARTYGSTIN>{gstin}</PARTYGSTIN></LEDGER>"
        + "".join(
            f'<STOCKITEM NAME="{s}"><BASEUNITS>Nos</BASEUNITS></STOCKITEM>' for s in skus or []
        )
    )
    record = invoice(nets, rate, skus=skus, quantities=quantities, number="INV-1")
    spec = sales_voucher(
        record,
        Party(party, "27" if local else "29", gstin),
        config(round_to=round_to),
        remote_id="ll-1",
    )
    counts = emulator.import_xml(etree.tostring(voucher_element(spec), encoding="unicode"))
    assert counts.line_errors == []
    assert counts.created == 1
