"""Beancount names ledgerlink derives: customer account components and invoice links."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable

MAX_SEGMENT = 60
MAX_LINK = 80
FALLBACK_SEGMENT = "Customer"
# Prefix for a name whose first character can never start an account component (a CJK or
# Devanagari letter has no upper case; Beancount wants an upper-case letter or a digit first).
NON_CAPITAL_PREFIX = "C-"

_LINK_INVALID = re.compile(r"[^A-Za-z0-9\-_/.]+")


def _may_start(ch: str) -> bool:
    """Beancount's lexer (``[A-Z0-9]`` or any non-ASCII) and grammar (``\\p{Lu}|\\p{Nd}``) agree."""
    if ch.isascii():
        return ch.isdigit() or "A" <= ch <= "Z"
    return unicodedata.category(ch) in ("Lu", "Nd")


def _may_continue(ch: str) -> bool:
    """Letters, digits and (after the first character) combining marks, which Beancount accepts."""
    if ch.isascii():
        return ch.isalnum()
    return unicodedata.category(ch)[0] in ("L", "M") or unicodedata.category(ch) == "Nd"


def account_segment(display_name: str) -> str:
    """A valid Beancount account component for a customer name.

    Runs of other characters become one ``-`` (``"Acme Ltd."`` -> ``"Acme-Ltd"``); a lower-case
    first letter is capitalised (``"élan"`` -> ``"Élan"``); a first letter with no capital form
    gets the ``C-`` prefix (``"山田商事"`` -> ``"C-山田商事"``); nothing usable gives ``Customer``.
    """
    text = unicodedata.normalize("NFC", display_name)
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if _may_continue(ch) and (current or unicodedata.category(ch)[0] != "M"):
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    if not words:
        return FALLBACK_SEGMENT
    segment = "-".join(words)
    first = segment[0]
    if not _may_start(first):
        capital = first.upper()
        if all(_may_continue(c) for c in capital) and _may_start(capital[0]):
            segment = capital + segment[1:]
        else:
            segment = NON_CAPITAL_PREFIX + segment
    return segment[:MAX_SEGMENT].rstrip("-")


def segment_to_name(segment: str) -> str:
    """A readable name for an account component a person created (``Acme-Ltd`` -> ``Acme Ltd``)."""
    return segment.replace("-", " ").strip()


def unique_name(base: str, taken: Callable[[str], bool]) -> str:
    """``base``, or ``base-2``, ``base-3``... the first one ``taken`` says is free."""
    if not taken(base):
        return base
    counter = 2
    while taken(f"{base}-{counter}"):
        counter += 1
    return f"{base}-{counter}"


def link_for(number: str, ledgerlink_id: str) -> str:
    """A valid Beancount link for an invoice: its number when it has one, else ledgerlink's id.

    Links allow only ``A-Z a-z 0-9 - _ / .``; other runs become ``-`` (``"Nº 12"`` -> ``"N-12"``).
    """
    for raw in (number, ledgerlink_id):
        candidate = _LINK_INVALID.sub("-", raw.strip()).strip("-")[:MAX_LINK]
        if candidate:
            return candidate
    digest = hashlib.blake2b(ledgerlink_id.encode("utf-8", "replace"), digest_size=6).hexdigest()
    return f"LL-{digest}"
