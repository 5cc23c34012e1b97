"""Money: exact amounts, minor units per currency, and amounts as people type them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerlink.canonical.money import MINOR_UNITS, Money, currency, parse_amount, quantize
from ledgerlink.errors import RecordError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1'234.50", "1234.50"),
        ("12,50", "12.50"),
        ("1,234", "1234"),
        ("$1,000", "1000"),
        ("EUR 12.00", "12.00"),
        ("(100.00)", "-100.00"),
        ("-5", "-5"),
        ("1,234,567.8", "1234567.8"),
    ],
)
def test_amounts_as_people_type_them(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


def test_configured_decimal_comma_decides_the_ambiguous_case() -> None:
    assert parse_amount("1,234", decimal_separator=",") == Decimal("1.234")
    assert parse_amount("1.234", decimal_separator=",") == Decimal("1234")


@pytest.mark.parametrize("text", ["", "abc", "1,23,4", "1.2.3,4", "12,3456,7", "=1+2"])
def test_what_is_not_an_amount_is_refused(text: str) -> None:
    with pytest.raises(RecordError):
        parse_amount(text)


def test_minor_units_follow_iso_4217() -> None:
    assert currency("usd").minor_units == 2
    assert currency("JPY").minor_units == 0
    assert currency("KWD").minor_units == 3
    assert quantize(Decimal("10.005"), currency("USD")) == Decimal("10.01")
    assert quantize(Decimal("10.005"), currency("USD"), "half-even") == Decimal("10.00")


def test_unknown_currency_says_what_to_do() -> None:
    with pytest.raises(RecordError) as excinfo:
        currency("XYZ")
    assert "XYZ" in str(excinfo.value)
    assert "ISO 4217" in str(excinfo.value)


def test_money_refuses_amounts_finer_than_the_currency() -> None:
    assert Money.of("12.50", "EUR").amount == Decimal("12.50")
    with pytest.raises(RecordError, match="more decimals"):
        Money.of("100.5", "JPY")
    with pytest.raises(RecordError, match="cannot combine"):
        _ = Money.of("1", "USD") + Money.of("1", "EUR")


@given(
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False),
)
def test_formatted_amounts_parse_back_exactly(amount: Decimal) -> None:
    us = f"{amount:,.2f}"
    european = us.replace(",", "_").replace(".", ",").replace("_", ".")
    assert parse_amount(us) == amount
    assert parse_amount(european, decimal_separator=",") == amount


@given(
    st.sampled_from(sorted(MINOR_UNITS)),
    st.decimals(min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False),
)
def test_quantize_lands_on_the_currency_grid(code: str, amount: Decimal) -> None:
    cur = currency(code)
    rounded = quantize(amount, cur)
    assert rounded == rounded.quantize(cur.quantum)
    assert abs(rounded - amount) <= cur.quantum / 2
