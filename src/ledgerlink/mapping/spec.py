"""How a pipe refines the built-in mapping: field rules, value maps, filters, selected fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FieldRule(BaseModel):
    """How one field of the record written to the target gets its value.

    Without ``from`` the rule refines the built-in value of the same field.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: str | None = Field(
        default=None,
        alias="from",
        description="Field of the source record to take the value from, e.g. `company` or "
        "`emails[1]`. Omit to refine the built-in value.",
    )
    map: dict[str, Any] | None = Field(
        default=None,
        description="Value map applied first, e.g. {Won: issued, Lost: void}; ignores case.",
    )
    transform: list[str | dict[str, Any]] = Field(
        default_factory=list,
        description="Transforms applied in order: split_name, parse_date, normalise_phone, "
        "normalise_email, lower, upper, title, strip.",
    )
    default: Any = Field(default=None, description="Value used when the result is empty.")

    @property
    def refines_value(self) -> bool:
        """True when the rule changes the value (not only who owns the field)."""
        return bool(self.source or self.map or self.transform or self.default is not None)

    owner: Literal["crm", "books"] | None = Field(
        default=None,
        description="Two-way pipes: the system whose value always wins for this field; the "
        "other side is corrected. Unset: a change on either side flows to the other, and a "
        "change on both is resolved by the pipe's `conflict:` policy.",
    )


class MappingSpec(BaseModel):
    """The refinements of one pipe; every key optional, the built-in mapping does the rest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: str | None = Field(
        default=None,
        description="Filter over the source record, e.g. \"status == 'won' and amount > 100\". "
        "Deals default to status == 'won'.",
    )
    select: list[str] | None = Field(
        default=None,
        description="Only these fields of the source record leave the CRM; the rest are blanked.",
    )
    fields: dict[str, FieldRule] = Field(
        default_factory=dict, description="Rules for fields of the record written to the target."
    )
    payment_terms_days: int = Field(
        default=30,
        ge=0,
        description="Days from invoice date to due date when the customer has no terms of its own.",
    )
