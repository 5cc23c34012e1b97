"""Rows of Outlook's contacts export to canonical contacts: header names, keys and records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledgerlink.canonical.normalise import collapse_spaces
from ledgerlink.canonical.records import Address, Contact
from ledgerlink.connectors.csv.changes import contact_key
from ledgerlink.connectors.csv.columns import ColumnMap, header_key
from ledgerlink.connectors.csv.translate import Cells, normalised_phones, validated_emails
from ledgerlink.connectors.files import unique_names
from ledgerlink.connectors.outlook.headers import header_lookup
from ledgerlink.errors import ConfigError

EMAIL_SLOTS = (
    ("email_1", "email_1_type"),
    ("email_2", "email_2_type"),
    ("email_3", "email_3_type"),
)
NAME_FIELDS = ("first_name", "middle_name", "last_name", "suffix")
PHONE_FIELDS = (
    "business_phone",
    "mobile_phone",
    "home_phone",
    "primary_phone",
    "company_main_phone",
    "business_phone_2",
    "home_phone_2",
)
ADDRESS_KINDS = (("business", "billing"), ("home", "home"), ("other", "other"))
_IDENTIFYING = ("first_name", "last_name", "middle_name", "company", "email_1")


@dataclass(frozen=True, slots=True)
class OutlookOptions:
    """The settings translation needs."""

    default_region: str = "US"
    currency: str = ""


def is_exchange_address(address: str, kind: str) -> bool:
    """True for Exchange-internal X.500 addresses (type ``EX``, ``/o=ExchangeLabs/ou=...``)."""
    return kind.strip().upper() == "EX" or address.startswith("/")


def resolve_outlook_columns(file_name: str, header: Sequence[str]) -> tuple[ColumnMap, str]:
    """Find Outlook's fields in a header by name, in any known language; also name the language."""
    lookup = header_lookup()
    positions: dict[str, int] = {}
    votes: Counter[str] = Counter()
    for position, name in enumerate(header):
        hit = lookup.get(header_key(name))
        if hit is None:
            continue
        field, language = hit
        votes[language] += 1
        if field in positions:
            first = positions[field]
            raise ConfigError(
                f"{file_name}: columns {first + 1} ({header[first]!r}) and {position + 1} "
                f"({name!r}) are both the Outlook field {field}",
                hint="Remove or rename one of them so that each field appears once",
            )
        positions[field] = position
    if not any(field in positions for field in _IDENTIFYING):
        shown = ", ".join(repr(h) for h in header[:6]) or "nothing"
        raise ConfigError(
            f"{file_name} does not look like an Outlook contacts export: its first row "
            f"({shown}) has no First Name, Last Name, Company or E-mail Address column in "
            "English, German, French or Spanish",
            hint="Export from Outlook with File > Open & Export > Import/Export > Export to a "
            "file > Comma Separated Values, or read the file with `type: csv` and `columns:`",
        )
    language = votes.most_common(1)[0][0]
    return ColumnMap(positions, tuple(header), unique_names(header)), language


def outlook_key_of(columns: ColumnMap) -> Callable[[Sequence[str]], str]:
    """The key of a row: its first SMTP e-mail, else its name, else its company."""
    at = columns.index
    slots = tuple((address, at(kind)) for a, kind in EMAIL_SLOTS if (address := at(a)) is not None)
    name_at = tuple(i for f in NAME_FIELDS if (i := at(f)) is not None)
    company_at = at("company")

    def key_of(cells: Sequence[str]) -> str:
        for address_at, kind_at in slots:
            address = cells[address_at].strip()
            kind = cells[kind_at] if kind_at is not None else ""
            if address and not is_exchange_address(address, kind):
                return contact_key("", address, "")
        name = " ".join(part for i in name_at if (part := cells[i].strip()))
        if not name and company_at is not None:
            name = cells[company_at]
        return contact_key("", "", name)

    return key_of


def _address(row: Cells, prefix: str, kind: str) -> Address:
    street = "\n".join(part for n in ("", "_2", "_3") if (part := row.text(f"{prefix}_street{n}")))
    return Address(
        kind=kind,
        street=street,
        city=row.get(f"{prefix}_city"),
        region=row.get(f"{prefix}_state"),
        postal_code=row.get(f"{prefix}_postal_code"),
        country=row.get(f"{prefix}_country"),
    )


def build_outlook_contact(
    cells: Sequence[str], columns: ColumnMap, options: OutlookOptions
) -> Contact:
    """The canonical contact of one Outlook row; the business address is the billing one."""
    row = Cells(cells, columns)
    first, last, company = row.get("first_name"), row.get("last_name"), row.get("company")
    name = collapse_spaces(" ".join(row.get(f) for f in NAME_FIELDS))
    emails = validated_emails(
        (row.label(address), row.get(address))
        for address, kind in EMAIL_SLOTS
        if not is_exchange_address(row.get(address), row.get(kind))
    )
    addresses = tuple(
        address
        for prefix, kind in ADDRESS_KINDS
        if not (address := _address(row, prefix, kind)).is_empty()
    )
    return Contact(
        kind="company" if company and not (first or last) else "person",
        display_name=name or company,
        given_name=first,
        family_name=last,
        company=company,
        emails=emails,
        phones=normalised_phones((row.get(f) for f in PHONE_FIELDS), options.default_region),
        addresses=addresses,
        currency=options.currency,
        notes=row.text("notes"),
    )
