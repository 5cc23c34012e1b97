"""Money as ``Decimal`` with an ISO 4217 currency, its minor units and rounding; never float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from ledgerlink.errors import RecordError

RoundingMode = Literal["half-up", "half-even"]

_ROUNDING = {"half-up": ROUND_HALF_UP, "half-even": ROUND_HALF_EVEN}

# ISO 4217 active codes and their minor units (exponent), from the ISO 4217 "list one" table.
# Codes with no minor unit (the N.A. entries such as XAU) are left out: they are not money a
# business invoices in. Two-decimal codes are listed compactly; the exceptions are listed by unit.
_TWO_DECIMAL = [
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHF",
    "CNY",
    "COP",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IRR",
    "JMD",
    "KES",
    "KGS",
    "KHR",
    "KPW",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "MAD",
    "MDL",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "USD",
    "UYU",
    "UZS",
    "VES",
    "WST",
    "XCD",
    "YER",
    "ZAR",
    "ZMW",
    "ZWG",
]
_ZERO_DECIMAL = [
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "UYI",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
]
_THREE_DECIMAL = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]
_FOUR_DECIMAL = ["CLF", "UYW"]

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMAL, 2),
    **dict.fromkeys(_ZERO_DECIMAL, 0),
    **dict.fromkeys(_THREE_DECIMAL, 3),
    **dict.fromkeys(_FOUR_DECIMAL, 4),
}


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency with its number of minor units."""

    code: str
    minor_units: int

    @property
    def quantum(self) -> Decimal:
        """The smallest amount of this currency: 0.01 for USD, 1 for JPY, 0.001 for KWD."""
        return Decimal(1).scaleb(-self.minor_units)


def currency(code: str) -> Currency:
    """Look up an ISO 4217 currency by code, or raise a ``RecordError`` saying what to do."""
    normalised = code.strip().upper()
    units = MINOR_UNITS.get(normalised)
    if units is None:
        raise RecordError(
            f"unknown currency {code!r}",
            hint="Use an ISO 4217 code such as USD, EUR, GBP or INR, "
            "or set `currency:` on the connection to the code the CRM means",
        )
    return Currency(normalised, units)


def quantize(amount: Decimal, cur: Currency, rounding: RoundingMode = "half-up") -> Decimal:
    """Round ``amount`` to the currency's minor units with the given rule."""
    return amount.quantize(cur.quantum, rounding=_ROUNDING[rounding])


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency, always rounded to that currency's minor units."""

    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal | int | str, code: str, *, strict: bool = True) -> Money:
        """Build money, rejecting amounts finer than the currency allows when ``strict``."""
        cur = currency(code)
        value = Decimal(amount)
        rounded = quantize(value, cur)
        if strict and rounded != value:
            raise RecordError(
                f"amount {value} has more decimals than {cur.code} allows ({cur.minor_units})",
                hint="Round it in the CRM to the currency's minor units",
            )
        return cls(rounded, cur.code)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise RecordError(f"cannot combine {self.currency} and {other.currency} amounts")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


_AMOUNT_CHARS = re.compile(r"^[+-]?[0-9.,' \u00a0\u202f]+$")
_CURRENCY_SYMBOLS = "$€£¥₹₩₽₺₪₫₱฿"


def parse_amount(text: str, *, decimal_separator: Literal[".", ","] = ".") -> Decimal:
    """Parse an amount as people type it in a CRM, exactly.

    Accepts thousands separators (``1,234.50``, ``1.234,50``, ``1 234,50``, ``1'234.50``), a decimal
    comma where it is unambiguous or configured, a leading currency symbol or code, and accounting
    negatives in parentheses. Rejects anything ambiguous rather than guessing.
    """
    raw = text.strip()
    if not raw:
        raise RecordError("amount is empty", hint="Fill in the amount in the CRM")
    negative = False
    value = raw
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1].strip()
    value = value.strip(_CURRENCY_SYMBOLS + " ")
    if len(value) > 3 and value[:3].isalpha() and value[:3].isupper():
        value = value[3:].strip()
    if not _AMOUNT_CHARS.match(value):
        raise RecordError(
            f"{text!r} is not an amount", hint="Use digits with an optional decimal point"
        )
    if value[0] in "+-":
        negative, value = negative or value[0] == "-", value[1:]
    for space in (" ", "\u00a0", "\u202f", "'"):
        value = value.replace(space, "")
    value = _normalise_separators(value, decimal_separator, text)
    try:
        result = Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the regex above already filters
        raise RecordError(f"{text!r} is not an amount") from exc
    return -result if negative else result


def _normalise_separators(value: str, decimal_separator: str, original: str) -> str:
    """Decide which separator is the decimal one and drop the thousands separators.

    Both present: the last one is the decimal separator. One separator, several times: thousands.
    One separator once: decimal, unless exactly three digits follow and it is not the configured
    decimal separator (``1,234`` is 1234 by default, 1.234 with ``decimal_separator: ","``).
    """
    if "." in value and "," in value:
        decimal = "." if value.rfind(".") > value.rfind(",") else ","
    elif "." in value or "," in value:
        sep = "," if "," in value else "."
        groups = value.split(sep)
        thousands_only = len(groups) > 2 or (len(groups[1]) == 3 and sep != decimal_separator)
        decimal = ("," if sep == "." else ".") if thousands_only else sep
    else:
        return value
    thousands = "," if decimal == "." else "."
    integer, _, fraction = value.rpartition(decimal) if decimal in value else (value, "", "")
    if thousands in integer:
        parts = integer.split(thousands)
        if not parts[0] or any(len(p) != 3 for p in parts[1:]):
            raise RecordError(
                f"{original!r} is not an amount", hint="Check the thousands separators"
            )
        integer = "".join(parts)
    if (not integer.isdigit() and integer) or (fraction and not fraction.isdigit()):
        raise RecordError(f"{original!r} is not an amount", hint="Check the separators")
    return f"{integer or '0'}.{fraction}" if fraction else integer or "0"
