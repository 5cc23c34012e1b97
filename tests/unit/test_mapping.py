"""Built-in mappings, refinements and filters: what reaches the books from a CRM record."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerlink.canonical.money import currency, quantize
from ledgerlink.canonical.records import Address, Contact, Customer, Deal, DealLine, Invoice
from ledgerlink.errors import ConfigError, RecordError
from ledgerlink.mapping.apply import Mapper
from ledgerlink.mapping.defaults import InvoiceRules, deal_to_invoice
from ledgerlink.mapping.spec import MappingSpec

TODAY = date(2026, 11, 24)


def mapper(source: str, target: str, rules: InvoiceRules | None = None, **spec: Any) -> Mapper:
    return Mapper(source, target, MappingSpec.model_validate(spec), rules or InvoiceRules())


def won(amount: str, **kw: Any) -> Deal:
    fields: dict[str, Any] = {
        "title": "Deal",
        "contact_key": "c1",
        "currency": "USD",
        "status": "won",
    }
    return Deal(amount=Decimal(amount), **(fields | kw))


def test_contact_becomes_customer_with_primary_email_and_billing_address() -> None:
    contact = Contact(
        display_name="Grace Hopper",
        emails=("grace@example.com", "g.hopper@example.org"),
        phones=("+12025550100",),
        addresses=(
            Address(kind="home", city="Arlington"),
            Address(kind="billing", city="Washington"),
        ),
    )
    customer = mapper("contacts", "customers").map(contact, today=TODAY)
    assert isinstance(customer, Customer)
    assert customer.email == "grace@example.com"
    assert customer.other_emails == ("g.hopper@example.org",)
    assert customer.billing_address is not None
    assert customer.billing_address.city == "Washington"


def test_company_without_person_name_uses_company() -> None:
    customer = mapper("contacts", "customers").map(
        Contact(kind="company", company="Initech Ltd"), today=TODAY
    )
    assert isinstance(customer, Customer)
    assert customer.display_name == "Initech Ltd"


def test_contact_without_any_name_is_a_record_error() -> None:
    with pytest.raises(RecordError, match="neither a name nor a company"):
        mapper("contacts", "customers").map(Contact(emails=("x@example.com",)), today=TODAY)


def test_only_won_deals_become_invoices_by_default() -> None:
    m = mapper("deals", "invoices")
    assert m.map(won("10.00"), today=TODAY) is not None
    open_deal = Deal(title="x", contact_key="c", amount=Decimal(5), currency="USD", status="open")
    assert m.map(open_deal, today=TODAY) is None


def test_filter_value_map_rename_and_transform() -> None:
    m = mapper(
        "deals",
        "invoices",
        when="stage == 'Closed Won' and amount >= 100",
        fields={
            "status": {"from": "stage", "map": {"closed won": "issued"}, "default": "draft"},
            "memo": {"from": "title", "transform": ["upper"]},
        },
    )
    small = won("99.00", stage="Closed Won")
    big = won("100.00", stage="Closed Won", title="Big one")
    assert m.map(small, today=TODAY) is None
    invoice = m.map(big, today=TODAY)
    assert isinstance(invoice, Invoice)
    assert invoice.status == "issued"
    assert invoice.memo == "BIG ONE"


def test_split_name_and_selected_fields() -> None:
    m = mapper(
        "contacts",
        "customers",
        select=["display_name", "emails"],
        fields={
            "given_name": {"from": "display_name", "transform": [{"split_name": "given"}]},
            "family_name": {"from": "display_name", "transform": [{"split_name": "family"}]},
        },
    )
    contact = Contact(
        display_name="Dr. Ada King", emails=("ada@example.com",), notes="secret", phones=("+1",)
    )
    customer = m.map(contact, today=TODAY)
    assert isinstance(customer, Customer)
    assert (customer.given_name, customer.family_name) == ("Ada", "King")
    assert customer.notes == ""
    assert customer.phone == ""


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"when": "__import__('os').system('rm -rf /')"}, "not allowed"),
        ({"when": "stage.__class__ == 1"}, "Attribute"),
        ({"when": "colour == 'red'"}, "unknown field"),
        ({"when": "stage =="}, "not a valid expression"),
        ({"fields": {"nonsense": {"default": 1}}}, "not a field"),
        ({"fields": {"memo": {"from": "nope"}}}, "not a source field"),
        ({"fields": {"memo": {"transform": ["explode"]}}}, "unknown transform"),
        ({"select": ["title", "ghost"]}, "unknown field"),
    ],
)
def test_configuration_never_runs_code_and_names_the_problem(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        mapper("deals", "invoices", **spec)


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("-5.00", "USD", "negative"),
        ("0", "USD", "zero"),
        ("10.001", "USD", "more decimals"),
        ("100.5", "JPY", "more decimals"),
        ("1", "ZZZ", "unknown currency"),
    ],
)
def test_invoices_refuse_amounts_the_books_cannot_carry(
    amount: str, currency: str, message: str
) -> None:
    with pytest.raises(RecordError, match=message):
        mapper("deals", "invoices").map(won(amount, currency=currency), today=TODAY)


def test_lines_must_add_up_to_the_deal_amount() -> None:
    deal = won(
        "250.00",
        lines=(
            DealLine("a", Decimal(1), Decimal("100.00")),
            DealLine("b", Decimal(1), Decimal("100.00")),
        ),
    )
    with pytest.raises(RecordError, match=r"add up to 200\.00"):
        mapper("deals", "invoices").map(deal, today=TODAY)


def test_tax_per_line_and_per_document_round_differently() -> None:
    lines = tuple(
        DealLine(f"l{i}", Decimal(1), Decimal("0.05"), tax_rate=Decimal("10")) for i in range(3)
    )
    deal = won("0.15", lines=lines)
    per_line = deal_to_invoice(deal, InvoiceRules(tax_mode="line"), today=TODAY)
    per_doc = deal_to_invoice(deal, InvoiceRules(tax_mode="document"), today=TODAY)
    assert per_line.tax_total == Decimal("0.03")  # 0.005 rounds up on each of three lines
    assert per_doc.tax_total == Decimal("0.02")  # 0.015 once, half-up
    assert per_line.total == Decimal("0.18")
    assert per_doc.total == Decimal("0.17")


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=20),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2),
            st.sampled_from(
                [None, Decimal(0), Decimal(5), Decimal("7.25"), Decimal(18), Decimal(20)]
            ),
            st.sampled_from([Decimal(0), Decimal(10), Decimal("12.5")]),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["line", "document"]),
    st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_invoice_totals_always_agree_to_the_minor_unit(
    lines: list[Any], tax_mode: str, code: str
) -> None:
    cur = currency(code)
    deal_lines = tuple(
        DealLine(f"line {i}", Decimal(q), quantize(p, cur), discount_percent=d, tax_rate=r)
        for i, (q, p, r, d) in enumerate(lines)
    )
    rules = InvoiceRules(tax_mode=tax_mode)  # type: ignore[arg-type]
    amount = sum(
        (
            quantize(line.quantity * line.unit_price * (100 - line.discount_percent) / 100, cur)
            for line in deal_lines
        ),
        Decimal(0),
    )
    if amount <= 0:
        return
    invoice = deal_to_invoice(won(str(amount), currency=code, lines=deal_lines), rules, today=TODAY)
    assert invoice.subtotal == amount
    assert invoice.subtotal == sum((line.amount for line in invoice.lines), Decimal(0))
    assert invoice.tax_total == sum((t.amount for t in invoice.tax_lines), Decimal(0))
    assert invoice.total == invoice.subtotal + invoice.tax_total
    for value in (invoice.total, invoice.tax_total, *(line.amount for line in invoice.lines)):
        assert value == value.quantize(cur.quantum)
