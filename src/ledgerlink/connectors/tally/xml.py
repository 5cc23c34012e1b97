"""Safe XML for Tally: decoding UTF-8/UTF-16, stripping control characters, no DTDs or entities."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Literal

from lxml import etree

Element = etree._Element
Encoding = Literal["utf-8", "utf-16"]

# Tally writes raw control characters and references to them (``&#4;``) into its XML; both are
# illegal in XML 1.0 and real clients drop them before parsing (reference §3.1).
_CONTROL_CHARS = dict.fromkeys(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CHAR_REF = re.compile(r"&#(x[0-9a-fA-F]+|[0-9]+);")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)


class UnsafeXmlError(ValueError):
    """The document declares a DTD or entities, which Tally never sends; it is not parsed."""


class BadXmlError(ValueError):
    """The document is not well-formed XML even after control characters were removed."""


def _parser() -> etree.XMLParser:
    # No entity resolution, no DTD loading, no network, no huge trees: even if a DTD slipped past
    # the textual check, nothing it declares is expanded or fetched.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _drop_control_ref(match: re.Match[str]) -> str:
    body = match.group(1)
    try:
        code = int(body[1:], 16) if body[0] in "xX" else int(body)
    except ValueError:  # pragma: no cover - the pattern admits digits only
        return ""
    return "" if code in _CONTROL_CHARS else match.group(0)


def clean_text(value: str) -> str:
    """Text with the characters XML 1.0 forbids removed (control characters but TAB, LF, CR)."""
    return _CONTROL.sub("", value) if _CONTROL.search(value) else value


def strip_control(text: str) -> str:
    """A document with raw control characters and character references to them removed."""
    return _CHAR_REF.sub(_drop_control_ref, clean_text(text))


def decode(data: bytes, content_type: str | None = None) -> str:
    """Bytes from Tally as text: a byte-order mark, else UTF-16 by its zero bytes, else UTF-8.

    ``content_type`` may name the charset (``text/xml;charset=utf-16``); the bytes decide when the
    two disagree, because Tally has been seen labelling UTF-16 bodies loosely.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    if len(data) >= 2 and data[0] != 0 and data[1] == 0:
        return data.decode("utf-16-le", "replace")
    if len(data) >= 2 and data[0] == 0 and data[1] != 0:
        return data.decode("utf-16-be", "replace")
    if content_type and "utf-16" in content_type.lower() and len(data) % 2 == 0 and data:
        return data.decode("utf-16-le", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Tally.ERP 9 in a non-Unicode setup writes the Windows code page.
        return data.decode("cp1252", "replace")


def parse(document: str | bytes, content_type: str | None = None) -> Element:
    """Parse a Tally document safely.

    Control characters are removed first; a DTD, entity, element or attribute-list declaration
    raises ``UnsafeXmlError`` without parsing (no XXE, no billion laughs, no quadratic blowup);
    anything else malformed raises ``BadXmlError``.
    """
    text = decode(document, content_type) if isinstance(document, bytes) else document
    text = _DECLARATION.sub("", strip_control(text).lstrip("\ufeff"), count=1)
    if _DTD.search(text):
        raise UnsafeXmlError("the document declares a DTD or entities; it was not parsed")
    try:
        root = etree.fromstring(text, _parser())
    except etree.XMLSyntaxError as exc:
        raise BadXmlError(f"not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.internalDTD is not None:  # pragma: no cover - belt and braces
        raise UnsafeXmlError("the document declares a DTD; it was not parsed")
    return root


def render(root: Element, encoding: Encoding = "utf-8") -> bytes:
    """A document as bytes: UTF-8 with a declaration, or UTF-16 little-endian without a BOM."""
    text = etree.tostring(root, encoding="unicode")
    if encoding == "utf-16":
        return text.encode("utf-16-le")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + text.encode("utf-8")


def content_type(encoding: Encoding) -> str:
    """The Content-Type header of a request body in ``encoding``."""
    return f"text/xml;charset={encoding}"


def sub(parent: Element, tag: str, text: str | None = None, **attrs: str) -> Element:
    """Append a child element with text (control characters removed) and attributes."""
    child = etree.SubElement(
        parent, tag, {k: clean_text(v) for k, v in attrs.items()} if attrs else None
    )
    if text is not None:
        child.text = clean_text(text)
    return child


def element(tag: str, **attrs: str) -> Element:
    """A new element with attributes (control characters removed)."""
    return etree.Element(tag, {k: clean_text(v) for k, v in attrs.items()})


def subs(parent: Element, pairs: Iterable[tuple[str, str | None]]) -> None:
    """Append one child per (tag, text) pair, leaving out pairs without text."""
    for tag, text in pairs:
        if text:
            sub(parent, tag, text)


def text_of(node: Element, tag: str) -> str:
    """The trimmed text of the first child ``tag`` (upper-case Tally tag), or ``""``."""
    child = node.find(tag)
    if child is None or child.text is None:
        return ""
    return child.text.strip()


def texts_of(node: Element, path: str) -> list[str]:
    """The trimmed texts of every element at ``path`` (e.g. ``ADDRESS.LIST/ADDRESS``)."""
    return [(c.text or "").strip() for c in node.findall(path) if (c.text or "").strip()]


def decimal_of(text: str) -> Decimal:
    """An amount as Tally writes it (`` -118000.00``, ``1,180.00``); zero when empty."""
    cleaned = text.replace(",", "").strip()
    if not cleaned:
        return Decimal(0)
    try:
        return Decimal(cleaned.split()[0])
    except InvalidOperation:
        raise BadXmlError(f"{text!r} is not an amount") from None


def int_of(text: str) -> int:
    """A number as Tally writes it (`` 4213``); zero when empty."""
    cleaned = text.strip()
    return int(cleaned) if cleaned.lstrip("-").isdigit() else 0


def yes(value: str) -> bool:
    """Tally's ``Yes``/``No`` as a bool."""
    return value.strip().casefold() == "yes"


def yes_no(value: bool) -> str:
    """A bool as Tally's ``Yes``/``No``."""
    return "Yes" if value else "No"
