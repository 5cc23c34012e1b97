"""The canonical columns of a CSV/XLSX export and the header spellings that mean each of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledgerlink.connectors.files import unique_names
from ledgerlink.errors import ConfigError

CONTACT_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("contact id", "customer id", "record id", "external id"),
    "kind": ("contact type", "party type"),
    "display_name": ("name", "full name", "contact name", "customer name"),
    "given_name": ("first name", "first", "forename"),
    "family_name": ("last name", "last", "surname"),
    "company": (
        "company name",
        "organisation",
        "organization",
        "organisation name",
        "organization name",
        "account",
        "account name",
        "business name",
    ),
    # Punctuation does not count: "email address" also matches "E-mail Address".
    "email": ("email address", "mail", "primary email", "email 1"),
    "email_2": ("email 2 address", "secondary email"),
    "email_3": ("email 3 address",),
    "phone": ("telephone", "phone number", "tel", "business phone", "work phone", "office phone"),
    "mobile": ("mobile phone", "mobile number", "cell", "cell phone"),
    "street": ("address", "street address", "address 1", "address line 1", "billing street"),
    "city": ("town", "billing city"),
    "region": ("state", "province", "county", "state/province", "billing state"),
    "postal_code": ("postcode", "zip", "zip code", "billing postal code", "billing zip"),
    "country": ("country/region", "billing country"),
    "tax_id": ("vat", "vat number", "vat id", "gstin", "gst number", "tax number", "ein", "abn"),
    "currency": ("currency code",),
    "payment_terms_days": ("payment terms", "terms", "net days"),
    "credit_limit": (),
    "notes": ("note", "comments", "comment"),
    "updated_at": ("updated", "last modified", "modified", "modified at", "last updated"),
}

DEAL_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("deal id", "opportunity id", "record id"),
    "title": ("name", "deal name", "opportunity name", "subject"),
    "contact": ("contact email", "contact id", "customer", "customer email", "customer id"),
    "amount": ("value", "deal value", "deal amount", "total"),
    "currency": ("currency code",),
    "stage": ("deal stage", "status", "pipeline stage"),
    "close_date": ("closed at", "closing date", "expected close date", "date"),
    "tax_rate": ("tax", "tax percent", "vat rate", "gst rate"),
    "number": ("invoice number", "deal number", "reference"),
    "line_description": ("description", "item", "item description", "product", "product name"),
    "line_quantity": ("quantity", "qty"),
    "line_unit_price": ("unit price", "price", "rate"),
    "line_sku": ("sku", "product code", "item code"),
    "line_discount_percent": ("discount", "discount percent"),
    "line_tax_rate": ("line tax", "item tax rate"),
    "updated_at": ("updated", "last modified", "modified", "modified at", "last updated"),
}

CONTACT_COLUMNS = tuple(CONTACT_ALIASES)
DEAL_COLUMNS = tuple(DEAL_ALIASES)
LINE_COLUMNS = tuple(c for c in DEAL_COLUMNS if c.startswith("line_"))
KEY_COLUMNS = (
    "id",
    "email",
    "email_2",
    "email_3",
    "display_name",
    "given_name",
    "family_name",
    "company",
)
REQUIRED_DEAL_COLUMNS = ("id", "contact", "amount")
STREAM_COLUMNS = {"contacts": CONTACT_ALIASES, "deals": DEAL_ALIASES}


def header_key(name: str) -> str:
    """How headers compare: case-folded letters and digits only (``E-mail`` equals ``email``)."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def alias_lookup(aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Header key → canonical column, for a table of aliases."""
    lookup: dict[str, str] = {}
    for column, spellings in aliases.items():
        for spelling in (column, *spellings):
            lookup.setdefault(header_key(spelling), column)
    return lookup


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Where each canonical column sits in one file's header."""

    positions: Mapping[str, int]
    header: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def width(self) -> int:
        """How many cells a full row has."""
        return len(self.header)

    def index(self, column: str) -> int | None:
        """The position of a canonical column, or None when the file does not have it."""
        return self.positions.get(column)

    def label(self, column: str) -> str:
        """The header the user sees for a canonical column."""
        position = self.positions.get(column)
        return self.header[position] if position is not None else column

    def has_any(self, columns: Sequence[str]) -> bool:
        """True when at least one of ``columns`` is in the file."""
        return any(c in self.positions for c in columns)


def stream_overrides(stream: str, columns: Mapping[str, str]) -> dict[str, tuple[str, bool]]:
    """The ``columns:`` entries for one stream: column → (header, must it exist in this file).

    ``contacts.email`` and ``deals.id`` apply to one stream. An unprefixed name applies to every
    stream that has that column; it must be found in the file unless both streams have it.
    """
    result: dict[str, tuple[str, bool]] = {}
    shared = set(CONTACT_ALIASES) & set(DEAL_ALIASES)
    for name, header in columns.items():
        prefix, _, column = name.rpartition(".")
        if prefix == stream:
            result[column] = (header, True)
        elif not prefix and column in STREAM_COLUMNS[stream]:
            result.setdefault(column, (header, column not in shared))
    return result


def resolve_columns(
    file_name: str,
    header: Sequence[str],
    stream: str,
    overrides: Mapping[str, tuple[str, bool]],
) -> ColumnMap:
    """Find each canonical column in ``header``; raise ``ConfigError`` saying how to fix it.

    Explicit ``columns:`` entries win; otherwise a header matches a column by its name or an alias,
    ignoring case, spaces and punctuation. Two headers for one column are an error (ledgerlink does
    not guess which one holds the e-mail), and so is a file whose first row names no known column.
    """
    if not header:
        raise ConfigError(
            f"{file_name} is empty",
            hint="Export the records with a header row, then run again",
        )
    keys = [header_key(h) for h in header]
    positions: dict[str, int] = {}
    for column, (wanted, required) in overrides.items():
        found = [i for i, key in enumerate(keys) if key == header_key(wanted)]
        if len(found) > 1:
            raise _twice(file_name, header, found[0], found[1])
        if found:
            positions[column] = found[0]
        elif required:
            raise ConfigError(
                f"`columns:` maps {column} to {wanted!r}, but {file_name} has no such header; "
                f"its headers are {_show(header)}",
                hint="Correct the header name in `columns:` (case and spaces do not matter)",
            )
    taken = set(positions.values())
    overrides_found = set(positions)
    lookup = alias_lookup(STREAM_COLUMNS[stream])
    for position, key in enumerate(keys):
        found_column = lookup.get(key)
        if found_column is None or position in taken or found_column in overrides_found:
            continue
        if found_column in positions:
            raise _twice(file_name, header, positions[found_column], position, found_column)
        positions[found_column] = position
    _check_required(file_name, header, stream, positions)
    return ColumnMap(positions, tuple(header), unique_names(header))


def _check_required(
    file_name: str, header: Sequence[str], stream: str, positions: Mapping[str, int]
) -> None:
    if not positions:
        looks_like_data = any(
            "@" in h or h.replace(".", "").replace(",", "").isdigit() for h in header
        )
        what = "it looks like data, not a header" if looks_like_data else "no header is known"
        raise ConfigError(
            f"{file_name}: the first row names no column ledgerlink knows ({what}); "
            f"it reads {_show(header)}",
            hint="Add a header row to the export, or name the columns in the configuration, "
            'for example `columns: {email: "Mail", display_name: "Customer"}` '
            "(ledgerlink's column on the left, the header in the file on the right)",
        )
    if stream == "deals":
        missing = [c for c in REQUIRED_DEAL_COLUMNS if c not in positions]
        if missing:
            raise ConfigError(
                f"{file_name} has no {' or '.join(missing)} column; its headers are "
                f"{_show(header)}",
                hint="Every deal needs an id, a contact and an amount; name the columns with "
                '`columns:`, for example `columns: {deals.contact: "Customer e-mail"}`',
            )
    elif not any(c in positions for c in KEY_COLUMNS):
        raise ConfigError(
            f"{file_name} has no id, e-mail, name or company column, so contacts cannot be told "
            f"apart; its headers are {_show(header)}",
            hint='Name the columns with `columns:`, for example `columns: {email: "Mail"}`',
        )


def _twice(
    file_name: str, header: Sequence[str], first: int, second: int, column: str | None = None
) -> ConfigError:
    if column is None or header_key(header[first]) == header_key(header[second]):
        return ConfigError(
            f"{file_name}: columns {first + 1} and {second + 1} are both named {header[first]!r}",
            hint="Rename one of them in the export so that every header is unique",
        )
    return ConfigError(
        f"{file_name}: columns {first + 1} ({header[first]!r}) and {second + 1} "
        f"({header[second]!r}) both look like the {column} column",
        hint="Choose one in the configuration, for example "
        f'`columns: {{{column}: "{header[second]}"}}`',
    )


def _show(header: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(repr(h) for h in header[:limit])
    return shown + (f" and {len(header) - limit} more" if len(header) > limit else "")
