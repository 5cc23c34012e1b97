"""Normal forms of e-mails, phones, names and tax ids: two spellings of one party compare equal."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from ledgerlink.errors import RecordError

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s&]")
_COMPANY_SUFFIXES = frozenset(
    [
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "llc",
        "llp",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "sa",
        "sarl",
        "bv",
        "nv",
        "pty",
        "pvt",
        "private",
        "oy",
        "ab",
        "as",
        "aps",
        "srl",
        "spa",
        "kg",
        "kk",
    ]
)


def normalise_email(value: str) -> str:
    """Validate an e-mail address and return its normal form (domain lower-cased).

    Raises ``RecordError`` naming the address and why it is invalid.
    """
    text = value.strip()
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(". ")
        raise RecordError(
            f"e-mail {text!r} is not valid: {reason}",
            hint="Correct the address in the CRM, or clear it",
        ) from None
    return f"{result.local_part}@{result.domain.lower()}"


def email_key(value: str) -> str:
    """The comparison key of an already-valid e-mail: case-insensitive as people expect."""
    return value.strip().casefold()


def normalise_phone(value: str, default_region: str = "US") -> str:
    """E.164 form of a valid number (``+14155550100``); otherwise the text, spaces collapsed.

    Validity is checked against the region's numbering plan, so a German number typed without
    its country code is not turned into a wrong US one.
    """
    text = value.strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return _SPACES.sub(" ", text)
    if not phonenumbers.is_valid_number(number):
        return _SPACES.sub(" ", text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def name_key(value: str) -> str:
    """A name's comparison key: accents folded, case and punctuation dropped, company suffixes gone.

    ``"ACME Ltd."``, ``"Acme Limited"`` and ``"acme"`` share the key ``"acme"``.
    """
    folded = unicodedata.normalize("NFKD", value)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).casefold()
    words = _PUNCT.sub(" ", folded).split()
    while len(words) > 1 and words[-1] in _COMPANY_SUFFIXES:
        words.pop()
    return " ".join(words)


def tax_id_key(value: str) -> str:
    """A tax id's comparison key: letters and digits only, upper-case."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


def collapse_spaces(value: str) -> str:
    """Trim and collapse runs of whitespace (including newlines) to one space."""
    return _SPACES.sub(" ", value).strip()
