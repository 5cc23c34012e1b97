"""vCard 2.1/3.0/4.0 cards to canonical contacts: cheap keys first, vobject only in ``load``."""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import vobject

from ledgerlink.canonical.normalise import collapse_spaces
from ledgerlink.canonical.records import Address, Contact, PartyKind
from ledgerlink.connectors.csv.changes import contact_key
from ledgerlink.connectors.csv.translate import infer_kind, normalised_phones, validated_emails
from ledgerlink.connectors.outlook.translate import OutlookOptions
from ledgerlink.errors import RecordError

_BINARY = frozenset({"PHOTO", "LOGO", "SOUND", "KEY", "X-MS-OL-DESIGN"})
_SKIPPED_PHONES = frozenset({"FAX", "PAGER"})
_RAW_LIMIT = 200


@dataclass(frozen=True, slots=True)
class RawCard:
    """The physical lines of one card, from BEGIN:VCARD to END:VCARD."""

    number: int
    line: int
    lines: tuple[str, ...]
    complete: bool


def iter_cards(handle: TextIO) -> Iterator[RawCard]:
    """Each card of a file in order; lines outside cards are ignored, nested cards stay inside."""
    depth, number, start = 0, 0, 0
    lines: list[str] = []
    for line_number, text in enumerate(handle, start=1):
        line = text.rstrip("\r\n")
        marker = line.strip().upper()
        if depth == 0:
            if marker == "BEGIN:VCARD":
                depth, number, start, lines = 1, number + 1, line_number, [line]
            continue
        lines.append(line)
        if marker == "BEGIN:VCARD":
            depth += 1
        elif marker == "END:VCARD":
            depth -= 1
            if depth == 0:
                yield RawCard(number, start, tuple(lines), complete=True)
    if depth:
        yield RawCard(number, start, tuple(lines), complete=False)


def _split(line: str) -> tuple[str, str]:
    """``NAME;PARAMS`` and the value, split at the first colon outside a quoted parameter."""
    quoted = False
    for position, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[:position], line[position + 1 :]
    return line, ""


def _qp_bytes(value: str) -> bytes:
    return binascii.a2b_qp(value.encode("utf-8"))


def _charset_of(head: str) -> str | None:
    for param in head.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().upper() == "CHARSET":
            return value.strip().strip('"')
    return None


def _decodes(data: bytes, charset: str) -> bool:
    try:
        data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def mend_quoted_printable(lines: Sequence[str]) -> list[str]:
    """Repair the vCard 2.1 quoted-printable quirks vobject does not handle.

    vobject reads only the first physical line of a quoted-printable value that ends in a soft
    line break (``=`` at the end of the line, as Outlook writes long notes), and it fails on
    8-bit text without a ``CHARSET`` (Outlook then means the Windows code page). So soft breaks
    are joined here, and a ``CHARSET`` that decodes the bytes (UTF-8, else Windows-1252) is put
    in when the card names none or names one that does not fit.
    """
    mended: list[str] = []
    position = 0
    while position < len(lines):
        line = lines[position]
        head, value = _split(line)
        if line[:1] not in " \t" and "QUOTED-PRINTABLE" in head.upper():
            while line.endswith("=") and position + 1 < len(lines):
                position += 1
                line = line[:-1] + lines[position]
            head, value = _split(line)
            data = _qp_bytes(value)
            charset = _charset_of(head)
            if charset is None or not _decodes(data, charset):
                fitting = "utf-8" if _decodes(data, "utf-8") else "windows-1252"
                if not _decodes(data, fitting):
                    fitting = "latin-1"
                kept = [p for p in head.split(";") if p.split("=")[0].strip().upper() != "CHARSET"]
                line = f"{';'.join(kept)};CHARSET={fitting}:{value}"
        mended.append(line)
        position += 1
    return mended


def _unescape(value: str) -> str:
    return value.replace("\\n", "\n").replace("\\N", "\n").replace("\\,", ",").replace("\\;", ";")


def properties(lines: Sequence[str]) -> Iterator[tuple[str, str, str]]:
    """(NAME, parameters, value) of each unfolded property, quoted-printable decoded.

    A light reading for keys and raw rows, without vobject; ``load`` parses properly.
    """
    logical: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and logical:
            logical[-1] += line[1:]
        else:
            logical.append(line)
    for line in logical:
        head, value = _split(line)
        name, _, params = head.partition(";")
        if "QUOTED-PRINTABLE" in params.upper():
            data = _qp_bytes(value)
            charset = _charset_of(head) or "utf-8"
            value = data.decode(charset if _decodes(data, charset) else "windows-1252", "replace")
        yield name.rpartition(".")[2].strip().upper(), params.upper(), value


def card_key(props: Iterable[tuple[str, str, str]]) -> str:
    """UID, else the preferred SMTP e-mail, else ``name:`` and the name (FN, N, then ORG).

    The e-mail is the one ``load`` makes primary: the first marked PREF, else the first.
    """
    found: dict[str, str] = {}
    for name, params, value in props:
        text = value.strip()
        if name == "EMAIL" and text and not text.startswith("/") and "PREF" in params:
            found.setdefault("PREF_EMAIL", text)
        if name in ("UID", "EMAIL", "FN", "N", "ORG") and name not in found:
            if name == "EMAIL" and text.startswith("/"):
                continue
            if text:
                found[name] = text
    if uid := found.get("UID"):
        return uid
    if email := found.get("PREF_EMAIL") or found.get("EMAIL"):
        return contact_key("", email, "")
    parts = found.get("N", "").split(";")
    n_name = " ".join(p for p in (parts[1:2] + parts[:1]) if p)
    name = found.get("FN") or n_name or found.get("ORG", "").split(";")[0]
    return contact_key("", "", _unescape(name))


def card_raw(props: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """Property → value for the dead-letter queue, without photos, keys or long design XML."""
    raw: dict[str, str] = {}
    for name, _, value in props:
        if name in _BINARY or name in ("BEGIN", "END") or not value:
            continue
        label, count = name, 1
        while label in raw:
            count += 1
            label = f"{name} {count}"
        raw[label] = value[:_RAW_LIMIT]
    return raw


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value if v)
    return str(value or "")


def _types(line: Any) -> set[str]:
    found = {str(p).upper() for p in getattr(line, "singletonparams", ())}
    for value in line.params.get("TYPE", ()):
        found |= {v.strip().upper() for v in str(value).split(",")}
    if line.params.get("PREF"):
        found.add("PREF")
    return found


def _by_preference(lines: Iterable[Any]) -> list[Any]:
    return sorted(lines, key=lambda line: "PREF" not in _types(line))


def _address(line: Any, billing_taken: bool) -> Address:
    value, types = line.value, _types(line)
    street = "\n".join(
        part for part in (_text(value.street), _text(value.extended), _text(value.box)) if part
    )
    if "WORK" in types and not billing_taken:
        kind = "billing"
    else:
        kind = "home" if "HOME" in types else "other"
    return Address(
        kind=kind,
        street=street,
        city=_text(value.city),
        region=_text(value.region),
        postal_code=_text(value.code),
        country=_text(value.country),
    )


def _first_component(lines: Sequence[Any]) -> str:
    """ORG is ``Company;Department``: the company is its first part."""
    if not lines:
        return ""
    value = lines[0].value
    return _text(value[:1] if isinstance(value, list) else value)


def _revision(lines: Sequence[Any]) -> datetime | None:
    """REV as a timestamp; an unreadable one is ignored (it is bookkeeping, not contact data)."""
    if not lines:
        return None
    try:
        stamp = datetime.fromisoformat(str(lines[0].value).strip())
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _kind(
    contents: dict[str, list[Any]], display: str, names: tuple[str, str], company: str
) -> PartyKind:
    declared = {str(line.value).strip().lower() for line in contents.get("kind", [])}
    shown_as = {str(line.value).strip().upper() for line in contents.get("x-abshowas", [])}
    if declared & {"org", "organization"} or "COMPANY" in shown_as:
        return "company"
    return infer_kind(display, names[0], names[1], company)


def build_vcard_contact(lines: Sequence[str], options: OutlookOptions) -> Contact:
    """The canonical contact of one card; raises ``RecordError`` for an unreadable card."""
    text = "\r\n".join(mend_quoted_printable(lines)) + "\r\n"
    try:
        card = vobject.readOne(text)
    except Exception as exc:  # vobject raises many types on malformed input; all mean the same.
        raise RecordError(
            f"the card cannot be read: {exc}",
            hint="Export the contact again from the address book, or correct the line named",
        ) from None
    contents: dict[str, list[Any]] = card.contents
    n_lines = contents.get("n", [])
    n = n_lines[0].value if n_lines else None
    given = _text(n.given) if n else ""
    family = _text(n.family) if n else ""
    middle = _text(n.additional) if n else ""
    company = _first_component(contents.get("org", []))
    full_name = collapse_spaces(_text(contents["fn"][0].value)) if contents.get("fn") else ""
    display = full_name or collapse_spaces(f"{given} {middle} {family}") or company
    emails = [str(line.value).strip() for line in _by_preference(contents.get("email", []))]
    phones = [
        str(line.value).strip().removeprefix("tel:")
        for line in _by_preference(contents.get("tel", []))
        if not _types(line) & _SKIPPED_PHONES
    ]
    addresses: list[Address] = []
    for line in _by_preference(contents.get("adr", [])):
        address = _address(line, any(a.kind == "billing" for a in addresses))
        if not address.is_empty():
            addresses.append(address)
    notes = "\n\n".join(_text(line.value).strip() for line in contents.get("note", []))
    return Contact(
        kind=_kind(contents, display, (given, family), company),
        display_name=display,
        given_name=given,
        family_name=family,
        company=company,
        emails=validated_emails(("EMAIL", e) for e in emails if not e.startswith("/")),
        phones=normalised_phones(phones, options.default_region),
        addresses=tuple(addresses),
        currency=options.currency,
        notes=notes.replace("\r\n", "\n").replace("\r", "\n").strip(),
        updated_at=_revision(contents.get("rev", [])),
    )
