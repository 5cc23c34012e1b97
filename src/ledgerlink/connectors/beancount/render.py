"""Beancount directive text: exact amounts, escaped strings, aligned postings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

MetaValue = str | Decimal | int | bool | date
Meta = tuple[tuple[str, MetaValue], ...]

_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\f": "\\f",
    "\b": "\\b",
}


def quote(text: str) -> str:
    """A Beancount string literal that reads back as exactly ``text``.

    Beancount unescapes C-style (``\\"``, ``\\\\``, ``\\n``, ``\\t``...); other characters,
    including ``= + - @`` and any Unicode, are plain text inside the quotes. NUL cannot be written
    and is dropped.
    """
    body = "".join(_ESCAPES.get(ch, ch) for ch in text if ch != "\x00")
    return f'"{body}"'


def amount_text(value: Decimal) -> str:
    """A decimal number exactly as given, in plain notation (never ``1E+2``, never ``-0``)."""
    if value == 0:
        value = abs(value)
    return format(value, "f")


def meta_value_text(value: MetaValue) -> str:
    """A metadata value: strings quoted, numbers plain, dates ISO, booleans TRUE/FALSE."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Decimal):
        return amount_text(value)
    if isinstance(value, int):
        return str(value)
    return value.isoformat()


def meta_lines(meta: Meta, indent: str) -> list[str]:
    """One ``key: value`` line per metadata item."""
    return [line for _, line in keyed_meta_lines(meta, indent)]


def keyed_meta_lines(meta: Meta, indent: str) -> list[tuple[str, str]]:
    """``(key, line)`` for each metadata item, to merge into a directive a person has edited."""
    return [(key, f"{indent}{key}: {meta_value_text(value)}") for key, value in meta]


@dataclass(frozen=True, slots=True)
class OpenSpec:
    """An ``open`` directive: a customer account with its metadata."""

    date: date
    account: str
    currencies: tuple[str, ...] = ()
    meta: Meta = ()

    def header(self) -> str:
        """The first line, without metadata."""
        text = f"{self.date.isoformat()} open {self.account}"
        return f"{text} {','.join(self.currencies)}" if self.currencies else text

    def lines(self) -> list[str]:
        """The directive's lines."""
        return [self.header(), *meta_lines(self.meta, "  ")]


@dataclass(frozen=True, slots=True)
class CloseSpec:
    """A ``close`` directive: a customer made inactive."""

    date: date
    account: str
    meta: Meta = ()

    def lines(self) -> list[str]:
        """The directive's lines."""
        return [f"{self.date.isoformat()} close {self.account}", *meta_lines(self.meta, "  ")]


@dataclass(frozen=True, slots=True)
class PostingSpec:
    """One posting: an account, an exact amount, and posting metadata."""

    account: str
    number: Decimal
    currency: str
    meta: Meta = ()


@dataclass(frozen=True, slots=True)
class TransactionSpec:
    """A transaction: header, metadata and postings that balance exactly."""

    date: date
    payee: str
    narration: str
    postings: tuple[PostingSpec, ...]
    links: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    meta: Meta = ()
    flag: str = "*"

    def header(self) -> str:
        """The first line: date, flag, payee, narration, tags and links."""
        parts = [self.date.isoformat(), self.flag, quote(self.payee), quote(self.narration)]
        parts += [f"#{tag}" for tag in self.tags]
        parts += [f"^{link}" for link in self.links]
        return " ".join(parts)

    def lines(self) -> list[str]:
        """The transaction's lines."""
        return [self.header(), *meta_lines(self.meta, "  "), *self.posting_lines()]

    def posting_lines(self) -> list[str]:
        """The postings, amounts aligned on the decimal column, each with its metadata."""
        numbers = [amount_text(p.number) for p in self.postings]
        account_width = max((len(p.account) for p in self.postings), default=0)
        number_width = max((len(n) for n in numbers), default=0)
        out: list[str] = []
        for posting, number in zip(self.postings, numbers, strict=True):
            account = posting.account.ljust(account_width)
            out.append(f"  {account}  {number.rjust(number_width)} {posting.currency}")
            out.extend(meta_lines(posting.meta, "    "))
        return out

    def balance(self) -> Decimal:
        """The sum of the postings; zero for a transaction Beancount accepts."""
        return sum((p.number for p in self.postings), Decimal(0))
