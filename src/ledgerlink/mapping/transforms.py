"""The small, pure value transforms a field rule may name (``transform: [normalise_phone]``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from nameparser import HumanName

from ledgerlink.canonical.normalise import collapse_spaces, normalise_email, normalise_phone
from ledgerlink.errors import ConfigError, RecordError

Transform = Callable[[Any], Any]


def _split_name(part: str) -> Transform:
    if part not in ("given", "family", "middle", "title", "suffix"):
        raise ConfigError(
            f"split_name takes given, family, middle, title or suffix, not {part!r}",
            hint="Write for example: transform: [{split_name: family}]",
        )
    attribute = {"given": "first", "family": "last"}.get(part, part)

    def split(value: Any) -> str:
        return str(getattr(HumanName(str(value or "")), attribute))

    return split


def _parse_date(formats: list[str] | str) -> Transform:
    options = [formats] if isinstance(formats, str) else list(formats)
    if not options:
        raise ConfigError("parse_date needs at least one format", hint="For example: [%d/%m/%Y]")

    def parse(value: Any) -> date | None:
        text = str(value or "").strip()
        if not text:
            return None
        for fmt in options:
            try:
                return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
            except ValueError:
                continue
        raise RecordError(
            f"date {text!r} matches none of the formats {', '.join(options)}",
            hint="Fix the date in the CRM or add its format to parse_date",
        )

    return parse


def _normalise_phone(region: str = "US") -> Transform:
    return lambda value: normalise_phone(str(value or ""), region)


def _simple(function: Callable[[str], str]) -> Callable[[], Transform]:
    return lambda: lambda value: function(str(value or ""))


TRANSFORMS: dict[str, Callable[..., Transform]] = {
    "split_name": _split_name,
    "parse_date": _parse_date,
    "normalise_phone": _normalise_phone,
    "normalise_email": _simple(lambda s: normalise_email(s) if s.strip() else ""),
    "lower": _simple(str.lower),
    "upper": _simple(str.upper),
    "title": _simple(str.title),
    "strip": _simple(collapse_spaces),
}


def build_transform(spec: str | dict[str, Any]) -> Transform:
    """Build one transform from ``"name"`` or ``{name: argument}``."""
    if isinstance(spec, str):
        name, args = spec, None
    elif len(spec) == 1:
        ((name, args),) = spec.items()
    else:
        raise ConfigError(f"a transform is a name or one {{name: argument}}, not {spec!r}")
    factory = TRANSFORMS.get(name)
    if factory is None:
        raise ConfigError(
            f"unknown transform {name!r}", hint="Known transforms: " + ", ".join(sorted(TRANSFORMS))
        )
    return factory() if args is None else factory(args)
