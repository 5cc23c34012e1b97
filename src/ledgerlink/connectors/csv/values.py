"""Cell text to typed values (amounts, percentages, dates, terms); errors name field and value."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from ledgerlink.canonical.money import currency, parse_amount
from ledgerlink.canonical.records import PartyKind
from ledgerlink.connectors.files import NO_DATE
from ledgerlink.errors import RecordError

DecimalSeparator = Literal[".", ","]

_HUNDRED = Decimal(100)
_TERMS = re.compile(r"^(?:net\s*)?(\d{1,4})(?:\s*days?)?$", re.IGNORECASE)
_KINDS: dict[str, PartyKind] = {
    **dict.fromkeys(("person", "individual", "people", "contact", "private"), "person"),
    **dict.fromkeys(
        ("company", "organisation", "organization", "business", "account", "org"), "company"
    ),
}


def _sentence(text: str | None) -> str | None:
    return text[:1].upper() + text[1:] if text else text


def amount(label: str, text: str, separator: DecimalSeparator) -> Decimal:
    """An exact amount; a formula or anything that is not a number is a ``RecordError``."""
    value = text.strip()
    if value.startswith("="):
        raise RecordError(
            f"{label}: cell holds a formula ({value!r}); export values instead",
            hint="Export the values, not the formulas (in a spreadsheet: copy the column and "
            "paste it back as values), then run again",
        )
    try:
        return parse_amount(value, decimal_separator=separator)
    except RecordError as exc:
        raise RecordError(
            f"{label} {value!r} is not an amount",
            hint=_sentence(exc.hint) or "Write the amount as digits, such as 1,234.50",
        ) from None


def optional_amount(label: str, text: str, separator: DecimalSeparator) -> Decimal | None:
    """An amount, or None for an empty cell."""
    return amount(label, text, separator) if text.strip() else None


def percent(label: str, text: str, separator: DecimalSeparator) -> Decimal | None:
    """A percentage written ``18``, ``18%`` or ``18,5 %``; None when empty; 0-100 only."""
    value = text.strip().removesuffix("%").strip()
    if not value:
        return None
    try:
        result = parse_amount(value, decimal_separator=separator)
    except RecordError:
        raise RecordError(
            f"{label} {text.strip()!r} is not a percentage",
            hint="Write a percentage as a number such as 18 or 18%",
        ) from None
    if not Decimal(0) <= result <= _HUNDRED:
        raise RecordError(
            f"{label} {text.strip()!r} is not between 0% and 100%",
            hint="Write the percentage itself: 18 for 18%",
        )
    return result


def currency_code(label: str, text: str) -> str:
    """An ISO 4217 code from a cell."""
    try:
        return currency(text).code
    except RecordError:
        raise RecordError(
            f"{label} {text.strip()!r} is not a currency ledgerlink knows",
            hint="Use an ISO 4217 code such as USD, EUR, GBP or INR in the CRM",
        ) from None


def parse_date(label: str, text: str, formats: Sequence[str]) -> date | None:
    """A date in ISO 8601 or one of ``formats``; None for an empty cell or Outlook's ``0/0/00``."""
    value = text.strip()
    if not value or value == NO_DATE:
        return None
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        pass
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a date has no zone
        except ValueError:
            continue
    raise RecordError(
        f"{label} {value!r} is not a date in ISO 8601 or {', '.join(formats)}",
        hint="Write dates as YYYY-MM-DD, or add the export's format to `date_formats:` "
        '(for example "%d/%m/%Y")',
    )


def parse_timestamp(label: str, text: str, formats: Sequence[str]) -> datetime | None:
    """A timestamp; one without a zone, or a bare date, is taken as UTC."""
    value = text.strip()
    if not value or value == NO_DATE:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        day = parse_date(label, value, formats)
        return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def payment_terms(label: str, text: str) -> int | None:
    """Days to pay, written ``30``, ``Net 30`` or ``30 days``."""
    value = text.strip()
    if not value:
        return None
    match = _TERMS.match(value)
    if match is None:
        raise RecordError(
            f"{label} {value!r} is not a number of days",
            hint="Write payment terms as a number of days, such as 30 or Net 30",
        )
    return int(match.group(1))


def party_kind(label: str, text: str) -> PartyKind | None:
    """``person`` or ``company`` (and their usual synonyms); None when empty."""
    value = text.strip().casefold()
    if not value:
        return None
    kind = _KINDS.get(value)
    if kind is None:
        raise RecordError(
            f"{label} {text.strip()!r} is neither person nor company",
            hint="Write person or company in that column, or leave it empty to let ledgerlink "
            "decide from the name and company",
        )
    return kind


def stage_key(stage: str) -> str:
    """How stages compare: case-folded letters and digits only (``Closed Won`` is closedwon)."""
    return "".join(ch for ch in stage.casefold() if ch.isalnum())
