"""Turn a source record into the record the target should hold: built-in mapping + refinements."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerlink.canonical.money import parse_amount
from ledgerlink.canonical.records import Contact, Customer, Deal, Invoice, Record
from ledgerlink.errors import ConfigError, RecordError
from ledgerlink.mapping.defaults import InvoiceRules, contact_to_customer, deal_to_invoice
from ledgerlink.mapping.expressions import Expression, compile_expression
from ledgerlink.mapping.spec import FieldRule, MappingSpec
from ledgerlink.mapping.transforms import Transform, build_transform

# Bump when a built-in mapping changes what it produces, so every link is re-diffed once.
MAPPING_VERSION = "1"

# (source stream, target stream) -> (source record type, target record type, default filter)
ROUTES: dict[tuple[str, str], tuple[type[Any], type[Any], str | None]] = {
    ("contacts", "customers"): (Contact, Customer, None),
    ("deals", "invoices"): (Deal, Invoice, "status == 'won'"),
}

_INDEXED = re.compile(r"^(?P<name>\w+)\[(?P<index>\d+)\]$")
CustomerTerms = Callable[[str], int | None]


def record_fields(record: Record) -> dict[str, Any]:
    """A record's fields by name, plus ``email`` (the primary address) for contacts."""
    fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    if isinstance(record, Contact):
        fields["email"] = record.email
    return fields


def _field_names(record_type: type[Any]) -> frozenset[str]:
    names = {f.name for f in dataclasses.fields(record_type)}
    return frozenset(names | ({"email"} if record_type is Contact else set()))


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    target: str
    source: str | None
    index: int | None
    value_map: dict[str, Any] | None
    transforms: tuple[Transform, ...]
    default: Any
    coerce: Callable[[Any], Any]

    def value(self, fields: Mapping[str, Any], current: Any) -> Any:
        value = current if self.source is None else fields[self.source]
        if self.index is not None:
            value = value[self.index] if len(value) > self.index else ""
        if self.value_map is not None and value is not None:
            value = self.value_map.get(str(value).casefold(), value)
        for transform in self.transforms:
            value = transform(value)
        if value in (None, "", ()) and self.default is not None:
            value = self.default
        return self.coerce(value)


class Mapper:
    """The compiled mapping of one pipe; pure, and cheap to call per record."""

    def __init__(
        self,
        source_stream: str,
        target_stream: str,
        spec: MappingSpec,
        rules: InvoiceRules,
    ) -> None:
        route = ROUTES.get((source_stream, target_stream))
        if route is None:
            known = ", ".join(f"{s} -> {t}" for s, t in ROUTES)
            raise ConfigError(
                f"no built-in mapping from {source_stream} to {target_stream}",
                hint=f"Pipes can go: {known}",
            )
        self._source_type, self._target_type, default_filter = route
        self.source_stream, self.target_stream = source_stream, target_stream
        self._spec, self._rules = spec, rules
        source_fields = _field_names(self._source_type)
        filter_text = spec.when if spec.when is not None else default_filter
        with _config_key("when"):
            self._filter: Expression | None = (
                compile_expression(filter_text, source_fields) if filter_text else None
            )
        with _config_key("select"):
            self._blank = self._blank_fields(spec.select, source_fields)
        hints = typing.get_type_hints(self._target_type)
        compiled = []
        for name, rule in spec.fields.items():
            if not rule.refines_value:
                continue
            with _config_key("fields", name):
                compiled.append(_compile_rule(name, rule, source_fields, hints))
        self._rules_compiled = tuple(compiled)
        payload = (
            f"{MAPPING_VERSION}|{source_stream}|{target_stream}|{spec.model_dump_json()}|{rules}"
        )
        self.fingerprint = hashlib.sha256(payload.encode()).hexdigest()[:32]

    def _blank_fields(self, select: list[str] | None, known: frozenset[str]) -> dict[str, Any]:
        if select is None:
            return {}
        unknown = set(select) - known
        if unknown:
            raise ConfigError(
                f"select names unknown field(s) {', '.join(sorted(unknown))}",
                hint="Known fields: " + ", ".join(sorted(known)),
            )
        blank: dict[str, Any] = {}
        for f in dataclasses.fields(self._source_type):
            if f.name in select:
                continue
            if f.default is not dataclasses.MISSING:
                blank[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                blank[f.name] = f.default_factory()
        return blank

    def map(
        self, record: Record, *, today: date, customer_terms: CustomerTerms | None = None
    ) -> Record | None:
        """The desired target record, or ``None`` when the pipe's filter leaves it out."""
        if not isinstance(record, self._source_type):
            raise RecordError(f"expected a {self._source_type.__name__}, got {record!r}")
        if self._blank:
            record = dataclasses.replace(record, **self._blank)
        needs_fields = self._filter is not None or self._rules_compiled
        fields = record_fields(record) if needs_fields else {}
        if self._filter is not None and not self._filter.matches(fields):
            return None
        desired: Record
        if isinstance(record, Contact):
            desired = contact_to_customer(record)
        elif isinstance(record, Deal):
            terms = customer_terms(record.contact_key) if customer_terms else None
            desired = deal_to_invoice(record, self._rules, today=today, customer_terms_days=terms)
        else:  # pragma: no cover - ROUTES only admits the two above
            raise RecordError(f"no mapping for {type(record).__name__}")
        if self._rules_compiled:
            updates = {
                r.target: r.value(fields, getattr(desired, r.target)) for r in self._rules_compiled
            }
            desired = dataclasses.replace(desired, **updates)
        return desired


@contextlib.contextmanager
def _config_key(*key: str) -> Iterator[None]:
    """Name the configuration key a ``ConfigError`` is about, so the loader can give its line."""
    try:
        yield
    except ConfigError as exc:
        exc.details.setdefault("key", key)
        raise


def _compile_rule(
    target: str, rule: FieldRule, source_fields: frozenset[str], hints: dict[str, Any]
) -> _CompiledRule:
    if target not in hints:
        raise ConfigError(
            f"fields: {target!r} is not a field of the target record",
            hint="Known fields: " + ", ".join(sorted(hints)),
        )
    source, index = rule.source, None
    if source is not None:
        indexed = _INDEXED.match(source)
        if indexed:
            source, index = indexed["name"], int(indexed["index"])
        if source not in source_fields:
            raise ConfigError(
                f"fields: {target!r} takes from {rule.source!r}, which is not a source field",
                hint="Known source fields: " + ", ".join(sorted(source_fields)),
            )
    value_map = {str(k).casefold(): v for k, v in rule.map.items()} if rule.map else None
    return _CompiledRule(
        target=target,
        source=source,
        index=index,
        value_map=value_map,
        transforms=tuple(build_transform(t) for t in rule.transform),
        default=rule.default,
        coerce=_coercer(target, hints[target]),
    )


def _coercer(name: str, hint: Any) -> Callable[[Any], Any]:
    """Convert a rule's result to the target field's type, or say which value did not fit."""
    options = set(typing.get_args(hint)) or {hint}
    optional = type(None) in options
    literal_values = {
        v for o in options if typing.get_origin(o) is typing.Literal for v in typing.get_args(o)
    }
    if typing.get_origin(hint) is typing.Literal:
        literal_values = set(typing.get_args(hint))

    def coerce(value: Any) -> Any:
        if value in (None, "") and optional:
            return None
        try:
            if literal_values:
                if value not in literal_values:
                    raise ValueError(
                        f"expected one of {', '.join(map(str, sorted(literal_values)))}"
                    )
                return value
            if Decimal in options:
                return value if isinstance(value, Decimal) else parse_amount(str(value))
            if int in options and not isinstance(value, bool):
                return int(value)
            if bool in options:
                return bool(value)
            if date in options:
                return value if isinstance(value, date) else date.fromisoformat(str(value))
            if typing.get_origin(hint) is tuple or any(
                typing.get_origin(o) is tuple for o in options
            ):
                items = value if isinstance(value, list | tuple) else [value]
                return tuple(str(v) for v in items if v not in (None, ""))
            if str in options:
                return "" if value is None else str(value)
        except (ValueError, TypeError, RecordError) as exc:
            raise RecordError(
                f"field {name!r} cannot take the value {value!r}: {exc}",
                hint="Adjust the field rule in the pipe's `fields:` or the value in the CRM",
            ) from None
        raise RecordError(f"field {name!r} cannot be set by a rule")

    return coerce
