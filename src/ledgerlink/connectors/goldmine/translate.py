"""Pure translation of GoldMine rows (CONTACT1/CONTACT2/CONTSUPP, OPMGR) into canonical records."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from nameparser import HumanName
from nameparser.config import CONSTANTS

from ledgerlink.canonical.money import Money, parse_amount
from ledgerlink.canonical.normalise import (
    collapse_spaces,
    email_key,
    normalise_email,
    normalise_phone,
)
from ledgerlink.canonical.records import Address, Contact, Deal, DealLine, DealStatus
from ledgerlink.errors import RecordError

#: CONTSUPP ZIP is a 4-character switch for e-mail rows; position 2 is '1' for the primary one.
PRIMARY_FLAG_POSITION = 1
_WORDS = re.compile(r"[a-z0-9]+")
_TERMS = re.compile(r"^(?:net\s*)?(\d{1,3})(?:\s*(?:days?|d))?(?:\s*net)?$", re.IGNORECASE)
_IMMEDIATE = frozenset(("due on receipt", "on receipt", "cod", "cash", "immediate", "immediately"))
_SEPARATOR = "\x1f"
#: A row as SQLAlchemy returns it (``Row._mapping``) or any mapping of column name to value.
Row = Mapping[Any, Any]


def text(value: Any) -> str:
    """A column value as trimmed text (dBase and some SQL builds pad with spaces)."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()


def digest_values(values: Iterable[Any]) -> str:
    """A stable digest of row values: the version of a record whose rows hold them."""
    joined = _SEPARATOR.join("\x00" if v is None else str(v) for v in values)
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def to_decimal(value: Any, what: str) -> Decimal | None:
    """A number from a numeric or text column, exactly; floats go through their shortest text."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise RecordError(f"{what} is a yes/no value, not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raw = text(value)
    if not raw:
        return None
    try:
        return parse_amount(raw)
    except RecordError as exc:
        raise RecordError(f"{what}: {exc.message}", hint=exc.hint) from None


def payment_terms_days(value: Any) -> int | None:
    """Days of credit from ``30``, ``Net 30``, ``30 days`` or ``Due on receipt``."""
    if value is None:
        return None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if number == number.to_integral_value() and 0 <= number < 1000:
            return int(number)
    raw = collapse_spaces(text(value))
    if not raw:
        return None
    if raw.casefold() in _IMMEDIATE:
        return 0
    match = _TERMS.match(raw)
    if match is None:
        raise RecordError(
            f"payment terms {raw!r} are not a number of days",
            hint="Write them as 30, 'Net 30' or '30 days' in GoldMine",
        )
    return int(match[1])


def split_name(full: str, surname: str) -> tuple[str, str]:
    """Given and family names of GoldMine's one-field CONTACT, helped by its LASTNAME column."""
    name, last = collapse_spaces(full), collapse_spaces(surname)
    if not name:
        return "", ""
    if last and len(name) > len(last) and name.casefold().endswith(" " + last.casefold()):
        rest = name[: -len(last)].strip().rstrip(",")  # the surname is known
        if " " not in rest and "." not in rest and rest.casefold() not in CONSTANTS.titles:
            return rest, last  # "John" + "Smith": by far the most common case, and cheap
        head = HumanName(rest)
        return " ".join(p for p in (head.first, head.middle, head.last) if p), last
    parsed = HumanName(name)
    given = " ".join(p for p in (parsed.first, parsed.middle) if p)
    return given, parsed.last


@dataclass(frozen=True, slots=True)
class ContactSettings:
    """What translating a contact needs from the configuration."""

    user_columns: Mapping[str, str]
    zone: ZoneInfo
    region: str
    currency: str


@dataclass(frozen=True, slots=True)
class DealSettings:
    """What translating an opportunity needs from the configuration."""

    currency: str
    won: frozenset[str]
    lost: frozenset[str]


def stage_label(value: str) -> str:
    """A status or stage compared loosely: ``Closed - Won`` and ``closed won`` are equal."""
    return " ".join(_WORDS.findall(value.casefold()))


def email_address(row: Row) -> str:
    """The address of a CONTSUPP e-mail row (CONTSUPREF, continued in ADDRESS1 when long)."""
    return text(row["CONTSUPREF"]) + text(row["ADDRESS1"])


def is_primary(row: Row) -> bool:
    """True for the e-mail row GoldMine marks primary (ZIP position 2 is '1')."""
    flags = row["ZIP"] or ""
    return len(flags) > PRIMARY_FLAG_POSITION and flags[PRIMARY_FLAG_POSITION] == "1"


def ordered_emails(rows: Sequence[Row]) -> list[str]:
    """Addresses, primary first, then oldest row first (RECIDs grow with time)."""
    ranked = sorted(rows, key=lambda r: (not is_primary(r), text(r["recid"])))
    return [address for address in (email_address(r) for r in ranked) if address]


def build_contact(
    main: Row,
    emails: Sequence[Row],
    stamp: datetime | None,
    settings: ContactSettings,
) -> Contact:
    """The canonical contact of one CONTACT1 row, its CONTACT2 fields and e-mail rows."""
    person, company = collapse_spaces(text(main["CONTACT"])), collapse_spaces(text(main["COMPANY"]))
    if not person and not company:
        raise RecordError(
            "the contact has neither a contact name nor a company",
            hint="Fill in Contact or Company in GoldMine",
        )
    given, family = split_name(person, text(main["LASTNAME"]))
    addresses: list[str] = []
    seen: set[str] = set()
    for raw in ordered_emails(emails):
        address = normalise_email(raw)
        if email_key(address) not in seen:
            seen.add(email_key(address))
            addresses.append(address)
    phones = dict.fromkeys(
        normalise_phone(text(main[c]), settings.region)
        for c in ("PHONE1", "PHONE2", "PHONE3")
        if text(main[c])
    )
    street = "\n".join(t for t in (text(main[f"ADDRESS{i}"]) for i in (1, 2, 3)) if t)
    postal = Address(
        street=street,
        city=text(main["CITY"]),
        region=text(main["STATE"]),
        postal_code=text(main["ZIP"]),
        country=text(main["COUNTRY"]),
    )
    fields = {meaning: main[label] for meaning, label in settings.user_columns.items()}
    return Contact(
        kind="person" if person else "company",
        display_name=person or company,
        given_name=given,
        family_name=family,
        company=company,
        emails=tuple(addresses),
        phones=tuple(phones),
        addresses=() if postal.is_empty() else (postal,),
        tax_id=text(fields.get("tax_id")),
        currency=settings.currency,
        payment_terms_days=payment_terms_days(fields.get("payment_terms")),
        credit_limit=to_decimal(fields.get("credit_limit"), "credit limit"),
        notes=text(main["NOTES"]),
        updated_at=stamp.replace(tzinfo=settings.zone) if stamp else None,
    )


def deal_status(status: str, stage: str, settings: DealSettings) -> DealStatus:
    """Won, lost or open, from OPMGR STATUS first and STAGE second."""
    for value in (status, stage):
        label = stage_label(value)
        if label in settings.won:
            return "won"
        if label in settings.lost:
            return "lost"
    return "open"


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def build_deal(row: Row, settings: DealSettings) -> Deal:
    """The canonical deal of one OPMGR opportunity row (RECTYPE 'O')."""
    opid, account = text(row["OPID"]), text(row["ACCOUNTNO"])
    if not account:
        raise RecordError(
            "the opportunity is not linked to a contact (ACCOUNTNO is empty)",
            hint="Link the opportunity to a contact in GoldMine",
        )
    status = deal_status(text(row["STATUS"]), text(row["STAGE"]), settings)
    forecast = to_decimal(row["FORAMT"], "forecast amount (FORAMT)")
    closed = to_decimal(row["CLOSEAMT"], "closed amount (CLOSEAMT)")
    amount = closed if status == "won" and closed else forecast
    money = Money.of(amount if amount is not None else Decimal(0), settings.currency)
    closed_on, close_by = _day(row["CLOSEDDATE"]), _day(row["CLOSEBY"])
    product = collapse_spaces(text(row["PRODUCTNAME"]))
    title = collapse_spaces(text(row["NAME"])) or product or f"Opportunity {opid}"
    return Deal(
        title=title,
        contact_key=account,
        amount=money.amount,
        currency=money.currency,
        stage=text(row["STAGE"]) or text(row["STATUS"]),
        status=status,
        close_date=(closed_on or close_by) if status != "open" else (close_by or closed_on),
        lines=(DealLine(description=product, unit_price=money.amount),) if product else (),
    )
