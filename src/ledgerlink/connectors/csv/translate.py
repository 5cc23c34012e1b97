"""Rows of a CSV/XLSX export to canonical contacts and deals (pure; called only from ``load``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledgerlink.canonical.normalise import (
    collapse_spaces,
    email_key,
    name_key,
    normalise_email,
    normalise_phone,
)
from ledgerlink.canonical.records import Address, Contact, Deal, DealLine, DealStatus, PartyKind
from ledgerlink.connectors.csv import values
from ledgerlink.connectors.csv.changes import reference_key
from ledgerlink.connectors.csv.columns import LINE_COLUMNS, ColumnMap
from ledgerlink.connectors.csv.config import CsvConfig
from ledgerlink.errors import RecordError

_DEAL_LEVEL = (
    "title",
    "contact",
    "amount",
    "currency",
    "stage",
    "close_date",
    "tax_rate",
    "number",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """The settings translation needs, taken once from the configuration."""

    decimal_separator: values.DecimalSeparator = "."
    currency: str = "USD"
    default_region: str = "US"
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    won: frozenset[str] = frozenset({"won", "closedwon"})
    lost: frozenset[str] = frozenset({"lost", "closedlost"})

    @classmethod
    def from_config(cls, config: CsvConfig) -> ReadOptions:
        """Options from a ``csv`` connection's configuration."""
        return cls(
            decimal_separator=config.decimal_separator,
            currency=config.currency,
            default_region=config.default_region,
            date_formats=config.date_formats,
            won=frozenset(values.stage_key(s) for s in config.won_stages),
            lost=frozenset(values.stage_key(s) for s in config.lost_stages),
        )


class Cells:
    """One row read through its file's column map."""

    __slots__ = ("cells", "columns")

    def __init__(self, cells: Sequence[str], columns: ColumnMap) -> None:
        self.cells = cells
        self.columns = columns

    def get(self, column: str) -> str:
        """The trimmed cell of a canonical column; empty when the file lacks the column."""
        position = self.columns.index(column)
        return self.cells[position].strip() if position is not None else ""

    def text(self, column: str) -> str:
        """A multi-line cell with its line breaks kept (as ``\\n``) and its ends trimmed."""
        return self.get(column).replace("\r\n", "\n").replace("\r", "\n")

    def label(self, column: str) -> str:
        """The header the user sees for a canonical column."""
        return self.columns.label(column)


def validated_emails(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Valid, de-duplicated e-mails from (header, cell) pairs; a bad one names its column."""
    emails: list[str] = []
    keys: set[str] = set()
    for label, value in pairs:
        if not value:
            continue
        try:
            email = normalise_email(value)
        except RecordError as exc:
            # email-validator ends its sentences with a full stop; the error adds its own.
            raise RecordError(f"{label}: {exc.message.rstrip('.')}", hint=exc.hint) from None
        if email_key(email) not in keys:
            keys.add(email_key(email))
            emails.append(email)
    return tuple(emails)


def normalised_phones(numbers: Iterable[str], region: str) -> tuple[str, ...]:
    """Phone numbers in E.164 where they parse, without repeats."""
    phones: list[str] = []
    for number in numbers:
        phone = normalise_phone(number, region)
        if phone and phone not in phones:
            phones.append(phone)
    return tuple(phones)


def infer_kind(display_name: str, given: str, family: str, company: str) -> PartyKind:
    """A company when only a company (or a name equal to it) is given; a person otherwise."""
    only_company = company and not (given or family)
    if only_company and (not display_name or name_key(display_name) == name_key(company)):
        return "company"
    return "person"


def build_contact(cells: Sequence[str], columns: ColumnMap, options: ReadOptions) -> Contact:
    """The canonical contact of one row; raises ``RecordError`` naming the bad cell."""
    row = Cells(cells, columns)
    given, family, company = row.get("given_name"), row.get("family_name"), row.get("company")
    display = collapse_spaces(row.get("display_name")) or collapse_spaces(f"{given} {family}")
    kind = values.party_kind(row.label("kind"), row.get("kind")) or infer_kind(
        display, given, family, company
    )
    address = Address(
        kind="billing",
        street=row.text("street"),
        city=row.get("city"),
        region=row.get("region"),
        postal_code=row.get("postal_code"),
        country=row.get("country"),
    )
    currency = row.get("currency")
    credit_limit = values.optional_amount(
        row.label("credit_limit"), row.get("credit_limit"), options.decimal_separator
    )
    if credit_limit is not None and credit_limit < 0:
        raise RecordError(
            f"{row.label('credit_limit')} {row.get('credit_limit')!r} is negative",
            hint="A credit limit is zero or more; correct it in the CRM",
        )
    return Contact(
        kind=kind,
        display_name=display or company,
        given_name=given,
        family_name=family,
        company=company,
        emails=validated_emails(
            (row.label(c), row.get(c)) for c in ("email", "email_2", "email_3")
        ),
        phones=normalised_phones((row.get("phone"), row.get("mobile")), options.default_region),
        addresses=() if address.is_empty() else (address,),
        tax_id=row.get("tax_id"),
        currency=values.currency_code(row.label("currency"), currency) if currency else "",
        payment_terms_days=values.payment_terms(
            row.label("payment_terms_days"), row.get("payment_terms_days")
        ),
        credit_limit=credit_limit,
        notes=row.text("notes"),
        updated_at=values.parse_timestamp(
            row.label("updated_at"), row.get("updated_at"), options.date_formats
        ),
    )


def has_lines(columns: ColumnMap) -> bool:
    """Deals carry line items when the file has a unit price column."""
    return columns.index("line_unit_price") is not None


def _deal_values(
    deal_id: str, rows: Sequence[tuple[int, Sequence[str]]], columns: ColumnMap
) -> dict[str, str]:
    """Deal-level cells: the first filled one per column; rows that disagree are an error."""
    found: dict[str, tuple[int, str]] = {}
    for line, cells in rows:
        row = Cells(cells, columns)
        for column in _DEAL_LEVEL:
            value = row.get(column)
            if not value:
                continue
            if column not in found:
                found[column] = (line, value)
            elif found[column][1] != value:
                first_line, first = found[column]
                raise RecordError(
                    f"deal {deal_id!r}: {columns.label(column)} is {first!r} on line {first_line} "
                    f"but {value!r} on line {line}",
                    hint="The rows of one deal must agree on its deal-level columns; "
                    "correct the export so they match",
                )
    return {column: value for column, (_, value) in found.items()}


def _deal_line(
    line: int, cells: Sequence[str], columns: ColumnMap, separator: values.DecimalSeparator
) -> DealLine | None:
    row = Cells(cells, columns)
    if not any(row.get(c) for c in LINE_COLUMNS):
        return None
    price_text = row.get("line_unit_price")
    if not price_text:
        raise RecordError(
            f"line {line} has no {row.label('line_unit_price')}",
            hint="Fill in the unit price of every line item (0 for a free item)",
        )
    quantity = values.optional_amount(
        row.label("line_quantity"), row.get("line_quantity"), separator
    )
    discount = values.percent(
        row.label("line_discount_percent"), row.get("line_discount_percent"), separator
    )
    return DealLine(
        description=row.text("line_description"),
        quantity=Decimal(1) if quantity is None else quantity,
        unit_price=values.amount(row.label("line_unit_price"), price_text, separator),
        sku=row.get("line_sku"),
        discount_percent=discount or Decimal(0),
        tax_rate=values.percent(row.label("line_tax_rate"), row.get("line_tax_rate"), separator),
    )


def build_deal(
    deal_id: str,
    rows: Sequence[tuple[int, Sequence[str]]],
    columns: ColumnMap,
    options: ReadOptions,
) -> Deal:
    """The canonical deal of one row, or of consecutive rows that are its line items."""
    found = _deal_values(deal_id, rows, columns)
    label = columns.label
    contact = found.get("contact", "")
    if not contact:
        raise RecordError(
            f"deal {deal_id!r} has no {label('contact')}",
            hint="Fill in the deal's contact (its e-mail address or contact id) in the CRM",
        )
    amount_text = found.get("amount", "")
    if not amount_text:
        raise RecordError(
            f"deal {deal_id!r} has no {label('amount')}", hint="Fill in the deal amount in the CRM"
        )
    sep = options.decimal_separator
    stage = found.get("stage", "")
    status: DealStatus = "open"
    if values.stage_key(stage) in options.won:
        status = "won"
    elif values.stage_key(stage) in options.lost:
        status = "lost"
    currency_text = found.get("currency", "")
    lines = (
        tuple(
            line
            for number, cells in rows
            if (line := _deal_line(number, cells, columns, sep)) is not None
        )
        if has_lines(columns)
        else ()
    )
    return Deal(
        title=found.get("title", "") or deal_id,
        contact_key=reference_key(contact),
        amount=values.amount(label("amount"), amount_text, sep),
        currency=values.currency_code(label("currency"), currency_text)
        if currency_text
        else options.currency,
        stage=stage,
        status=status,
        close_date=values.parse_date(
            label("close_date"), found.get("close_date", ""), options.date_formats
        ),
        lines=lines,
        tax_rate=values.percent(label("tax_rate"), found.get("tax_rate", ""), sep),
        number=found.get("number", ""),
        updated_at=values.parse_timestamp(
            label("updated_at"), found.get("updated_at", ""), options.date_formats
        ),
    )
