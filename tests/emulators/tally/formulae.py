"""A small evaluator of the TDL filter formulae collection exports use.

Covers what integrations send (reference §3.2, tally-database-loader's ``$AlterID > N`` and
``$$IsEqual:##SVCurrentCompany:$Name``): ``$Field`` values, ``##Variable`` values, string and
number literals, ``= <> != > < >= <=``, ``AND``/``OR``/``NOT``, parentheses, and the functions
``$$IsEqual``, ``$$IsSales``, ``$$IsReceipt``, ``$$IsCreditNote``. String comparison ignores
case, as Tally's does. Anything else raises ``FormulaError`` (Tally answers with a LINEERROR).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"[^"]*")
    | (?P<func>\$\$[A-Za-z]+)
    | (?P<field>\$[A-Za-z][A-Za-z0-9]*)
    | (?P<var>\#\#[A-Za-z][A-Za-z0-9]*)
    | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
    | (?P<op><>|!=|>=|<=|=|>|<)
    | (?P<paren>[()])
    | (?P<colon>:)
    | (?P<word>[A-Za-z]+)
    )""",
    re.VERBOSE,
)

Value = str | Decimal | bool


class FormulaError(ValueError):
    """The formula uses something this emulator (and this evaluator) does not know."""


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token."""

    kind: str
    text: str


def tokenize(formula: str) -> list[Token]:
    """Split a formula into tokens."""
    tokens: list[Token] = []
    position = 0
    text = formula.strip()
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            raise FormulaError(f"cannot read the formula at {text[position:]!r}")
        kind = found.lastgroup or ""
        tokens.append(Token(kind, found.group(kind)))
        position = found.end()
    return tokens


def _number(value: Value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        return None


def _compare(left: Value, op: str, right: Value) -> bool:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        x, y = str(left).casefold(), str(right).casefold()
        if op in ("=", "<>", "!="):
            return (x == y) == (op == "=")
        raise FormulaError(f"cannot order {left!r} and {right!r}")
    return {
        "=": a == b, "<>": a != b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b,
    }[op]  # fmt: skip


Getter = Callable[[str], str]
Node = Callable[[Getter], Value]


class Formula:
    """A formula parsed once into closures, then evaluated against objects through a getter."""

    def __init__(
        self,
        formula: str,
        variables: dict[str, str],
        base_type: Callable[[str], str],
    ) -> None:
        self._tokens = tokenize(formula)
        self._variables = {k.casefold(): v for k, v in variables.items()}
        self._base_type = base_type
        self._position = 0
        self._root = self._or()
        if self._position != len(self._tokens):
            raise FormulaError(f"unexpected {self._tokens[self._position].text!r}")

    def matches(self, field: Getter) -> bool:
        """True when the formula holds for the object whose fields ``field`` returns."""
        return bool(self._root(field))

    def _peek(self) -> Token | None:
        return self._tokens[self._position] if self._position < len(self._tokens) else None

    def _take(self) -> Token:
        token = self._peek()
        if token is None:
            raise FormulaError("the formula ends too early")
        self._position += 1
        return token

    def _word(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "word" and token.text.upper() == word:
            self._position += 1
            return True
        return False

    def _or(self) -> Node:
        parts = [self._and()]
        while self._word("OR"):
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return lambda get: any(part(get) for part in parts)

    def _and(self) -> Node:
        parts = [self._not()]
        while self._word("AND"):
            parts.append(self._not())
        if len(parts) == 1:
            return parts[0]
        return lambda get: all(part(get) for part in parts)

    def _not(self) -> Node:
        if self._word("NOT"):
            inner = self._not()
            return lambda get: not inner(get)
        return self._comparison()

    def _comparison(self) -> Node:
        left = self._term()
        token = self._peek()
        if token is not None and token.kind == "op":
            self._position += 1
            right, op = self._term(), token.text
            return lambda get: _compare(left(get), op, right(get))
        return left

    def _term(self) -> Node:
        token = self._take()
        if token.kind == "paren" and token.text == "(":
            inner = self._or()
            if self._take().text != ")":
                raise FormulaError("a parenthesis is not closed")
            return inner
        if token.kind == "string":
            text = token.text[1:-1]
            return lambda _get: text
        if token.kind == "number":
            number = Decimal(token.text)
            return lambda _get: number
        if token.kind == "field":
            name = token.text[1:]
            return lambda get: get(name)
        if token.kind == "var":
            variable = token.text[2:].casefold()
            if variable not in self._variables:
                raise FormulaError(f"unknown variable {token.text}")
            value = self._variables[variable]
            return lambda _get: value
        if token.kind == "func":
            return self._function(token.text[2:])
        raise FormulaError(f"unexpected {token.text!r}")

    def _arguments(self, count: int) -> list[Node]:
        values = []
        for _ in range(count):
            if self._take().kind != "colon":
                raise FormulaError("function arguments are separated by ':'")
            values.append(self._term())
        return values

    def _function(self, name: str) -> Node:
        upper = name.upper()
        if upper == "ISEQUAL":
            left, right = self._arguments(2)
            return lambda get: _compare(left(get), "=", right(get))
        kinds = {"ISSALES": "Sales", "ISRECEIPT": "Receipt", "ISCREDITNOTE": "Credit Note"}
        if upper in kinds:
            (value,) = self._arguments(1)
            kind, base = kinds[upper], self._base_type
            return lambda get: base(str(value(get))) == kind
        raise FormulaError(f"unknown function $${name}")
