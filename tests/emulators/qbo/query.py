"""The query language subset the connector uses, with its restrictions (accounting-systems.md §1.5).

``SELECT * | COUNT(*) FROM <Entity> [WHERE a AND b ...] [ORDERBY f [ASC|DESC]] [STARTPOSITION n]
[MAXRESULTS n]``. No OR, no joins; LIKE takes ``%`` only; only filterable fields may be filtered
(else 400); STARTPOSITION is 1-based; MAXRESULTS defaults to 100 and is at most 1000 (⚠).
Name-list entities return only active rows unless the filter names ``Active`` (§1.3 ⚠).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.emulators.qbo.company import NAME_LIST, Company, Entity
from tests.emulators.qbo.faults import QboFault

DEFAULT_MAX = 100
MAX_MAX = 1000
_META = ("Id", "MetaData.CreateTime", "MetaData.LastUpdatedTime")
FILTERABLE: dict[str, frozenset[str]] = {
    "Customer": frozenset(
        (
            *_META,
            *("DisplayName", "GivenName", "FamilyName", "CompanyName", "PrimaryEmailAddr"),
            *("Active", "Balance", "FullyQualifiedName"),
        )
    ),
    "Vendor": frozenset((*_META, "DisplayName", "Active")),
    "Item": frozenset((*_META, "Name", "Active", "Type", "Sku", "FullyQualifiedName")),
    "Invoice": frozenset(
        (*_META, "DocNumber", "TxnDate", "DueDate", "CustomerRef", "Balance", "TotalAmt")
    ),
    "Payment": frozenset((*_META, "TxnDate", "CustomerRef", "TotalAmt")),
}
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|=|<|>)"
    r"|(?P<punct>[(),*])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


def parse_error(detail: str) -> QboFault:
    """A malformed query (⚠ code 4000 "Error parsing query" per Intuit's error list)."""
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def invalid_query(detail: str) -> QboFault:
    """A well-formed but unsupported query (⚠ code 4001 "Invalid query")."""
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}")


@dataclass(frozen=True, slots=True)
class Condition:
    """``field op value`` (op: = < > <= >= != IN LIKE)."""

    field: str
    op: str
    value: Any


@dataclass(slots=True)
class Query:
    """A parsed SELECT."""

    entity: str
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order: tuple[str, bool] | None = None  # field, descending
    start: int = 1
    max_results: int = DEFAULT_MAX


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise parse_error(f"unexpected text at {position}: {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "number":
        return Decimal(text)
    if kind == "word" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise parse_error(f"expected a value, found {text!r}")


def parse(text: str) -> Query:
    """Parse one statement or raise the fault QBO answers with."""
    tokens = _tokens(text)
    words = [(k, v.upper() if k == "word" else v) for k, v in tokens]
    if len(words) < 4 or words[0][1] != "SELECT":
        raise parse_error("a query starts with SELECT")
    position = 1
    count = False
    if words[position][1] == "*":
        position += 1
    elif words[position][1] == "COUNT" and [w[1] for w in words[2:5]] == ["(", "*", ")"]:
        count, position = True, 5
    else:  # a field list: accepted, but every property comes back anyway (§1.5)
        while position < len(words) and words[position][1] != "FROM":
            position += 1
    if position >= len(words) or words[position][1] != "FROM":
        raise parse_error("FROM expected")
    query = Query(entity=tokens[position + 1][1], count=count)
    position += 2
    while position < len(words):
        keyword = words[position][1]
        if keyword == "WHERE" or (keyword == "AND" and query.where):
            position, condition = _condition(tokens, words, position + 1)
            query.where.append(condition)
        elif keyword == "OR":
            raise parse_error("OR is not supported")
        elif keyword == "ORDERBY" or (keyword == "ORDER" and words[position + 1][1] == "BY"):
            position += 1 if keyword == "ORDERBY" else 2
            name = tokens[position][1]
            descending = position + 1 < len(words) and words[position + 1][1] == "DESC"
            skip = position + 1 < len(words) and words[position + 1][1] in ("ASC", "DESC")
            query.order = (name, descending)
            position += 2 if skip else 1
        elif keyword in ("STARTPOSITION", "MAXRESULTS") and position + 1 < len(words):
            value = int(tokens[position + 1][1])
            if keyword == "STARTPOSITION":
                query.start = value
            else:
                query.max_results = value
            position += 2
        else:
            raise parse_error(f"unexpected {tokens[position][1]!r}")
    return query


def _condition(
    tokens: list[tuple[str, str]], words: list[tuple[str, str]], position: int
) -> tuple[int, Condition]:
    name = tokens[position][1]
    op = words[position + 1][1]
    if op == "IN":
        if words[position + 2][1] != "(":
            raise parse_error("IN needs a list")
        values: list[Any] = []
        position += 3
        while words[position][1] != ")":
            if words[position][1] != ",":
                values.append(_literal(*tokens[position]))
            position += 1
        return position + 1, Condition(name, "IN", values)
    if op not in ("=", "<", ">", "<=", ">=", "!=", "LIKE"):
        raise parse_error(f"unknown operator {tokens[position + 1][1]!r}")
    return position + 3, Condition(name, op, _literal(*tokens[position + 2]))


def _value(entity: Entity, name: str) -> Any:
    value: Any = entity
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict):  # a reference or an e-mail: compare on its value
        value = value.get("value", value.get("Address"))
    return value


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if "T" in value else value
        except ValueError:
            return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return Decimal(value)
    return value


def _matches(entity: Entity, condition: Condition) -> bool:
    actual = _value(entity, condition.field)
    if condition.op == "IN":
        return any(_equal(actual, v) for v in condition.value)
    if condition.op == "=":
        return _equal(actual, condition.value)
    if condition.op == "!=":
        return not _equal(actual, condition.value)
    if condition.op == "LIKE":
        pattern = "^" + ".*".join(re.escape(p) for p in str(condition.value).split("%")) + "$"
        return re.match(pattern, str(actual or ""), re.IGNORECASE) is not None
    if actual is None:
        return False
    left, right = _comparable(actual), _comparable(condition.value)
    try:
        return bool(
            {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[
                condition.op
            ]
        )
    except (TypeError, InvalidOperation):
        raise invalid_query(f"cannot compare {condition.field}") from None


def _equal(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual is wanted or (actual is None and wanted is True)
    if isinstance(wanted, Decimal):
        try:
            return Decimal(str(actual)) == wanted
        except InvalidOperation:
            return False
    return str(actual or "").casefold() == str(wanted).casefold()


def _order_key(name: str) -> Any:
    def key(entity: Entity) -> Any:
        value = _comparable(_value(entity, name))
        if name == "Id":
            return int(str(value))
        return (value is None, value if value is not None else "")

    return key


def run_query(company: Company, text: str) -> dict[str, Any]:
    """The ``QueryResponse`` for a statement (§1.5 response shapes)."""
    query = parse(text)
    allowed = FILTERABLE.get(query.entity)
    if allowed is None:
        raise invalid_query(f"{query.entity} is not a queryable entity here")
    for condition in query.where:
        if condition.field not in allowed:
            raise invalid_query(f"property {condition.field} is not queryable")
    if query.max_results > MAX_MAX or query.max_results < 1 or query.start < 1:
        raise invalid_query(
            f"MAXRESULTS {query.max_results} / STARTPOSITION {query.start} out of range "
            f"(MAXRESULTS at most {MAX_MAX})"
        )
    rows = company.all(query.entity)
    conditions = list(query.where)
    if query.entity in NAME_LIST and not any(c.field == "Active" for c in conditions):
        conditions.append(Condition("Active", "=", True))
    rows = [r for r in rows if all(_matches(r, c) for c in conditions)]
    if query.count:
        return {"totalCount": len(rows)}
    order_field, descending = query.order or ("Id", False)
    if order_field not in allowed:
        raise invalid_query(f"property {order_field} is not sortable")
    rows.sort(key=_order_key(order_field), reverse=descending)
    page = rows[query.start - 1 : query.start - 1 + query.max_results]
    if not page:
        return {}
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}
