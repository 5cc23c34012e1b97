"""Write-back of contact changes into GoldMine: CONTACT1 columns, CONTACT2 fields, the first e-mail.

Each contact is one transaction. Only the named fields are compared and written, and a field is
compared as the reader sees it (the canonical contact built from the stored rows): a phone stored
as ``(415) 555-0100`` already holds ``+14155550100``, so writing it back changes nothing. When no
named field differs, nothing is written and no stamp moves. Otherwise the CONTACT1 row is stamped
(LASTDATE/LASTTIME/LASTUSER) as ``GoldMineWriteBack`` does, the upper-case ``U_*`` shadows follow
their columns, and a changed e-mail row gets its own stamp, as GoldMine's detail screen does.

Which column receives which field is the reader's mapping (``translate.build_contact``) read
backwards; ``emails``, ``phones`` and ``addresses`` replace the first entry only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import DataError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from ledgerlink.canonical.normalise import (
    collapse_spaces,
    email_key,
    normalise_email,
    normalise_phone,
)
from ledgerlink.canonical.records import Address, Contact
from ledgerlink.connectors.goldmine.config import GoldMineConfig
from ledgerlink.connectors.goldmine.schema import GoldMineTables
from ledgerlink.connectors.goldmine.stamps import goldmine_stamp
from ledgerlink.connectors.goldmine.streams import CONTACT1_COLUMNS, fetch_emails
from ledgerlink.connectors.goldmine.translate import (
    ContactSettings,
    build_contact,
    is_primary,
    text,
)
from ledgerlink.connectors.goldmine.values import (
    ColumnKind,
    amount_text,
    bind,
    column_kinds,
    too_long,
)
from ledgerlink.connectors.goldmine.writer import new_recid
from ledgerlink.errors import ErrorContext, LedgerlinkError, RecordError

#: The contact fields write-back accepts.
CONTACT_FIELDS = (
    *("display_name", "given_name", "family_name", "company", "emails", "phones", "addresses"),
    *("tax_id", "currency", "payment_terms_days", "credit_limit", "notes"),
)
#: CONTACT1 columns with an upper-case shadow in SQL builds.
SHADOWED = ("COMPANY", "CONTACT", "LASTNAME", "CITY", "STATE", "COUNTRY")
PHONE_COLUMNS = ("PHONE1", "PHONE2", "PHONE3")
EMAIL_PART = 35  # CONTSUPREF holds 35 characters; the rest continues in ADDRESS1
EMAIL_MAX = EMAIL_PART + 40
PRIMARY_EMAIL_SWITCH = "1101"  # HTML, primary, no wrap, MIME (see docs/connectors/goldmine.md)
EMAIL_DETAIL = "E-mail Address"
_NUMBER = re.compile(r"\d+")
#: Contact field -> the user-field setting that holds it.
_USER_FIELDS = {
    "tax_id": "tax_id",
    "credit_limit": "credit_limit",
    "payment_terms_days": "payment_terms",
}


@dataclass(slots=True)
class ContactUpdate:
    """What one contact's write-back changes: per table, column -> value."""

    contact1: dict[str, Any] = field(default_factory=dict)
    contact2: dict[str, Any] = field(default_factory=dict)
    email: str | None = None  # the new first address ("" removes it) when it changes

    def empty(self) -> bool:
        """True when there is nothing to write."""
        return not self.contact1 and not self.contact2 and self.email is None


@dataclass(frozen=True, slots=True)
class Stored:
    """A contact as GoldMine holds it: its CONTACT1 row (with CONTACT2 fields) and e-mail rows."""

    main: Mapping[str, Any]
    emails: Sequence[Mapping[str, Any]]
    contact: Contact | None  # None when the stored rows do not make a valid contact

    def first_email_row(self) -> Mapping[str, Any] | None:
        """The e-mail row the reader lists first: the primary one, else the oldest."""
        ranked = sorted(self.emails, key=lambda r: (not is_primary(r), text(r["recid"])))
        return ranked[0] if ranked else None


class ContactWriteBack:
    """Writes changed contact fields into GoldMine's SQL database, one transaction per contact."""

    def __init__(
        self,
        engine: Engine,
        tables: GoldMineTables,
        config: GoldMineConfig,
        *,
        clock: Callable[[], datetime],
        on_error: Callable[[SQLAlchemyError, str], LedgerlinkError] | None = None,
    ) -> None:
        self._engine = engine
        self._tables = tables
        self._config = config
        self._clock = clock
        self._on_error = on_error
        self._user_columns = config.user_fields.read_columns()
        self._kinds: dict[str, ColumnKind] | None = None

    def update(self, account_no: str, contact: Contact, fields: Sequence[str]) -> bool:
        """Write the named fields of ``contact`` to the GoldMine contact ``account_no``.

        Returns False when GoldMine already held every value (nothing written, nothing stamped).
        Raises ``RecordError`` (nothing written) for an unknown account, a field GoldMine cannot
        hold or a value too long for its column.
        """
        location = f"CONTACT1 ACCOUNTNO={account_no}"
        try:
            with self._engine.begin() as conn:
                stored = self._load(conn, account_no, location)
                change = self._plan(stored, contact, fields, conn)
                if change.empty():
                    return False
                self._check_lengths(change)
                self._apply(conn, account_no, stored, change)
        except RecordError as error:
            error.with_context(system="goldmine", location=location)
            raise
        except DataError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise RecordError(
                f"GoldMine refused the contact's new values: {reason}",
                hint="Shorten the value in the books, or widen the GoldMine field",
                context=ErrorContext(system="goldmine", location=location),
            ) from None
        except SQLAlchemyError as exc:
            if self._on_error is None:
                raise
            raise self._on_error(exc, "writing a contact back to GoldMine") from None
        return True

    # -- reading what is there --------------------------------------------------------------

    def _load(self, conn: Connection, account_no: str, location: str) -> Stored:
        c1, c2 = self._tables.contact1, self._tables.contact2
        columns: list[ColumnElement[Any]] = [c1.c[n] for n in CONTACT1_COLUMNS]
        columns += [c2.c[n].label(f"c2_{n}") for n in dict.fromkeys(self._user_columns.values())]
        query = (
            select(*columns)
            .select_from(c1.outerjoin(c2, c2.c.ACCOUNTNO == c1.c.ACCOUNTNO))
            .where(c1.c["ACCOUNTNO"] == account_no)
        )
        row = conn.execute(query).first()
        if row is None:
            raise RecordError(
                f"GoldMine has no contact with ACCOUNTNO {account_no!r}",
                hint="It may have been deleted or merged in GoldMine",
                context=ErrorContext(system="goldmine", location=location),
            )
        main = dict(row._mapping)
        emails = fetch_emails(conn, self._tables, [account_no]).get(text(account_no), [])
        settings = ContactSettings(
            {meaning: f"c2_{column}" for meaning, column in self._user_columns.items()},
            self._config.zone(),
            self._config.default_region,
            self._config.currency or "",
        )
        try:
            contact: Contact | None = build_contact(main, emails, None, settings)
        except RecordError:
            contact = None  # what is stored is not valid: write every named field
        return Stored(main, emails, contact)

    def _column_kinds(self, conn: Connection) -> dict[str, ColumnKind]:
        if self._kinds is None:
            self._kinds = column_kinds(conn, self._tables.contact2)
        return self._kinds

    # -- deciding what to write -------------------------------------------------------------

    def _plan(
        self, stored: Stored, new: Contact, fields: Sequence[str], conn: Connection
    ) -> ContactUpdate:
        unknown = [f for f in fields if f not in CONTACT_FIELDS]
        if unknown:
            raise RecordError(
                f"GoldMine cannot take the contact field(s) {', '.join(unknown)}",
                hint=f"Write back only {', '.join(CONTACT_FIELDS)}",
            )
        wanted = [f for f in dict.fromkeys(fields) if not self._holds(stored, new, f)]
        change = ContactUpdate()
        self._plan_names(stored, new, wanted, change)
        for name in wanted:
            if name == "phones":
                change.contact1[self._phone_column(stored)] = new.phones[0] if new.phones else ""
            elif name == "addresses":
                change.contact1.update(
                    _address_columns(new.addresses[0] if new.addresses else None)
                )
            elif name == "notes":
                change.contact1["NOTES"] = new.notes or None
            elif name == "emails":
                change.email = normalise_email(new.emails[0]) if new.emails else ""
            elif name == "currency":
                raise RecordError(
                    f"GoldMine keeps no currency per contact (all are {self._config.currency}); "
                    f"it cannot take {new.currency!r}",
                    hint="Change `currency:` of the GoldMine connection, or keep the customer's "
                    "currency in the books only",
                )
            elif name in _USER_FIELDS:
                column, value = self._user_value(stored, new, name, conn)
                change.contact2[column] = value
        return change

    def _holds(self, stored: Stored, new: Contact, name: str) -> bool:
        """True when GoldMine already holds the field's new value, as the reader would see it."""
        current = stored.contact
        if current is None:
            return False
        if name == "emails":
            return [email_key(e) for e in current.emails[:1]] == [
                email_key(e) for e in new.emails[:1]
            ]
        if name == "phones":
            region = self._config.default_region
            return [normalise_phone(p, region) for p in current.phones[:1]] == [
                normalise_phone(p, region) for p in new.phones[:1]
            ]
        if name == "addresses":
            return [_parts(a) for a in current.addresses[:1]] == [
                _parts(a) for a in new.addresses[:1] if not a.is_empty()
            ]
        if name == "currency":
            return not new.currency or new.currency == current.currency
        return bool(getattr(current, name) == getattr(new, name))

    def _plan_names(
        self, stored: Stored, new: Contact, wanted: Sequence[str], change: ContactUpdate
    ) -> None:
        person = bool(text(stored.main["CONTACT"]))
        if "company" in wanted:
            change.contact1["COMPANY"] = collapse_spaces(new.company)
        name: str | None = None
        if "display_name" in wanted:
            if person or (new.kind == "person" and not text(stored.main["COMPANY"])):
                name = collapse_spaces(new.display_name)
            elif "company" not in wanted:
                change.contact1["COMPANY"] = collapse_spaces(new.display_name)
        if name is None and ("given_name" in wanted or "family_name" in wanted):
            name = collapse_spaces(f"{new.given_name} {new.family_name}")
        if name is not None:
            change.contact1["CONTACT"] = name
            family = collapse_spaces(new.family_name)
            last = family if family and name.casefold().endswith(family.casefold()) else ""
            change.contact1["LASTNAME"] = last or (name.rsplit(maxsplit=1)[-1] if name else "")

    def _phone_column(self, stored: Stored) -> str:
        """The column the reader's first phone came from (PHONE1 when there is none)."""
        for column in PHONE_COLUMNS:
            if text(stored.main[column]):
                return column
        return PHONE_COLUMNS[0]

    def _user_value(
        self, stored: Stored, new: Contact, name: str, conn: Connection
    ) -> tuple[str, Any]:
        setting = _USER_FIELDS[name]
        column = getattr(self._config.user_fields, setting)
        if not column:
            raise RecordError(
                f"GoldMine has no field for the contact's {name.replace('_', ' ')} "
                f"(`user_fields: {setting}:` is off)",
                hint=f"Set `user_fields: {{{setting}: <CONTACT2 field>}}` on the GoldMine "
                "connection, or do not write this field back",
            )
        kind = self._column_kinds(conn).get(column, "text")
        if name == "tax_id":
            return column, bind(kind, new.tax_id.strip() or None)
        if name == "credit_limit":
            limit = new.credit_limit
            if limit is None or kind == "number":
                return column, bind(kind, limit)
            return column, amount_text(limit)
        days = new.payment_terms_days
        if days is None or kind == "number":
            return column, bind(kind, days)
        return column, _terms_text(text(stored.main[f"c2_{column}"]), days)

    def _check_lengths(self, change: ContactUpdate) -> None:
        problems = too_long(self._tables.contact1, change.contact1)
        if change.email and len(change.email) > EMAIL_MAX:
            problems.append(("CONTSUPREF+ADDRESS1", EMAIL_MAX, change.email))
        if problems:
            column, length, value = problems[0]
            raise RecordError(
                f"{value!r} is longer than the {length} characters GoldMine's {column} holds",
                hint="Shorten the value in the books (GoldMine's field lengths are fixed)",
            )

    # -- writing ----------------------------------------------------------------------------

    def _apply(
        self, conn: Connection, account_no: str, stored: Stored, change: ContactUpdate
    ) -> None:
        local = self._clock().astimezone(self._config.zone()).replace(second=0, microsecond=0)
        day, clock = goldmine_stamp(local)
        stamp = {"LASTDATE": day, "LASTTIME": clock, "LASTUSER": self._config.write_user}
        c1, c2 = self._tables.contact1, self._tables.contact2
        values = dict(change.contact1)
        values.update({f"U_{n}": (values[n] or "").upper() for n in SHADOWED if n in values})
        conn.execute(update(c1).where(c1.c["ACCOUNTNO"] == account_no).values(**values, **stamp))
        if change.contact2:
            result = conn.execute(
                update(c2).where(c2.c["ACCOUNTNO"] == account_no).values(change.contact2)
            )
            if result.rowcount == 0:  # GoldMine creates CONTACT2 rows lazily
                row = {"ACCOUNTNO": account_no, "recid": new_recid(local), **change.contact2}
                conn.execute(insert(c2).values(row))
        if change.email is not None:
            self._write_email(conn, account_no, stored.first_email_row(), change.email, local)

    def _write_email(
        self,
        conn: Connection,
        account_no: str,
        first: Mapping[str, Any] | None,
        address: str,
        local: datetime,
    ) -> None:
        supp = self._tables.contsupp
        day, clock = goldmine_stamp(local)
        stamp = {"LASTDATE": day, "LASTTIME": clock, "LASTUSER": self._config.write_user}
        if not address:
            if first is not None:
                conn.execute(delete(supp).where(supp.c["recid"] == first["recid"]))
            return
        values = {
            "CONTSUPREF": address[:EMAIL_PART],
            "ADDRESS1": address[EMAIL_PART:] or None,
            "U_CONTSUPREF": address[:EMAIL_PART].upper(),
            "U_ADDRESS1": (address[EMAIL_PART:] or "").upper() or None,
            **stamp,
        }
        if first is not None:
            conn.execute(update(supp).where(supp.c["recid"] == first["recid"]).values(values))
            return
        row = {
            "ACCOUNTNO": account_no,
            "RECTYPE": "P",
            "CONTACT": EMAIL_DETAIL,
            "U_CONTACT": EMAIL_DETAIL.upper(),
            "ZIP": PRIMARY_EMAIL_SWITCH,
            "recid": new_recid(local),
            **values,
        }
        conn.execute(insert(supp).values(row))


def _parts(address: Address) -> tuple[str, ...]:
    return (
        address.street.strip(),
        address.city.strip(),
        address.region.strip(),
        address.postal_code.strip(),
        address.country.strip(),
    )


def _address_columns(address: Address | None) -> dict[str, Any]:
    """CONTACT1's address columns for an address: street lines into ADDRESS1-ADDRESS3."""
    if address is None:
        address = Address()
    lines = [line.strip() for line in address.street.splitlines() if line.strip()]
    if len(lines) > 3:  # GoldMine has three street lines: the rest joins the third
        lines = [*lines[:2], ", ".join(lines[2:])]
    lines += [""] * (3 - len(lines))
    return {
        "ADDRESS1": lines[0],
        "ADDRESS2": lines[1],
        "ADDRESS3": lines[2],
        "CITY": address.city.strip(),
        "STATE": address.region.strip(),
        "ZIP": address.postal_code.strip(),  # NOT NULL in GoldMine: empty, never NULL
        "COUNTRY": address.country.strip(),
    }


def _terms_text(current: str, days: int) -> str:
    """Payment terms as text, in the style already there (``Net 30`` -> ``Net 45``)."""
    if _NUMBER.search(current):
        return _NUMBER.sub(str(days), current, count=1)
    return f"Net {days}"
