"""The shape of ``ledgerlink.yaml``: state, connections and pipes, validated by pydantic."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, model_validator

from ledgerlink.connectors.registry import CONNECTOR_TYPES, ConnectorConfig
from ledgerlink.mapping.apply import ROUTES
from ledgerlink.mapping.reverse import IMPLICIT_BOOKS_OWNED, TWO_WAY_FIELDS
from ledgerlink.mapping.spec import MappingSpec

_ENDPOINT = r"^[A-Za-z_][\w-]*\.[a-z_]+$"


class PipeConfig(MappingSpec):
    """One flow of records from a connection's stream into another connection's stream."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][\w-]*$", description="Unique name of the pipe.")
    source: str = Field(
        alias="from", pattern=_ENDPOINT, description="connection.stream to read, e.g. crm.contacts"
    )
    target: str = Field(
        alias="to",
        pattern=_ENDPOINT,
        description="connection.stream to write, e.g. books.customers",
    )

    direction: Literal["one-way", "two-way"] = Field(
        default="one-way",
        description="two-way: changes made in the books flow back to the CRM as well "
        "(customers: the fields the built-in mapping copies; invoices: payment state).",
    )
    conflict: Literal["source-wins", "target-wins", "newest-wins", "manual"] = Field(
        default="manual",
        description="Two-way pipes: what happens to a field changed on both sides since the last "
        "sync. manual queues it for `ledgerlink conflicts resolve` and writes neither side.",
    )

    on_delete: Literal["ignore", "deactivate", "delete"] = Field(
        default="ignore",
        description="What a record deleted (or merged away) in the source does to what it "
        "became in the books: ignore (default: an accountant removes or voids by hand), "
        "deactivate (customers made inactive, invoices voided; paid invoices never), or delete "
        "(where the books allow it; a per-record error otherwise). "
        "See docs/deletes-and-backfill.md.",
    )

    @model_validator(mode="after")
    def _two_way_fields_can_flow_back(self) -> PipeConfig:
        owned = [name for name, rule in self.fields.items() if rule.owner is not None]
        if self.direction == "one-way":
            if owned:
                raise ValueError(
                    f"fields {', '.join(owned)} name an owner, which only two-way pipes use; "
                    "add `direction: two-way` or remove `owner:`"
                )
            return self
        stream = self.target.partition(".")[2]
        comparable = TWO_WAY_FIELDS.get(stream, ())
        for name, rule in self.fields.items():
            flows_back = rule.owner != "crm" and name in comparable
            if rule.owner is not None and name not in comparable:
                raise ValueError(
                    f"fields: {name!r} cannot have an owner; two-way {stream} compare "
                    f"{', '.join(comparable)}"
                )
            if flows_back and rule.refines_value:
                raise ValueError(
                    f"fields: {name!r} is computed by a rule, so a change in the books cannot be "
                    "written back; give it `owner: crm` or drop the rule"
                )
            if rule.owner == "crm" and name in IMPLICIT_BOOKS_OWNED.get(stream, frozenset()):
                raise ValueError(f"fields: {name!r} is payment state, which only the books know")
        return self

    def owners(self) -> dict[str, Literal["crm", "books", "shared"]]:
        """Two-way: who owns each compared field (``crm``, ``books`` or ``shared``)."""
        stream = self.target_stream
        implicit = IMPLICIT_BOOKS_OWNED.get(stream, frozenset())
        result: dict[str, Literal["crm", "books", "shared"]] = {}
        for name in TWO_WAY_FIELDS.get(stream, ()):
            rule = self.fields.get(name)
            result[name] = (
                "books" if name in implicit else (rule.owner if rule and rule.owner else "shared")
            )
        return result

    @property
    def source_connection(self) -> str:
        """The connection the pipe reads from."""
        return self.source.partition(".")[0]

    @property
    def source_stream(self) -> str:
        """The stream the pipe reads."""
        return self.source.partition(".")[2]

    @property
    def target_connection(self) -> str:
        """The connection the pipe writes to."""
        return self.target.partition(".")[0]

    @property
    def target_stream(self) -> str:
        """The stream the pipe writes."""
        return self.target.partition(".")[2]

    def mapping(self) -> MappingSpec:
        """The mapping refinements of this pipe alone (who owns a field is not mapping)."""
        return MappingSpec.model_validate(
            self.model_dump(include=set(MappingSpec.model_fields), by_alias=True)
        )


class LedgerlinkConfig(BaseModel):
    """The whole configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(description="Configuration format version; always 1 for now.")
    state: str = Field(
        default="sqlite:///ledgerlink.db",
        description="SQLAlchemy URL of the state database; relative SQLite paths are relative "
        "to this file. postgresql://... for a shared deployment.",
    )
    connections: dict[str, SerializeAsAny[ConnectorConfig]] = Field(
        description="Named systems; each entry's `type:` says which connector reads or writes it."
    )
    pipes: list[PipeConfig] = Field(min_length=1, description="The flows to sync, in order.")

    @model_validator(mode="after")
    def _pipes_are_consistent(self) -> LedgerlinkConfig:
        names: set[str] = set()
        for pipe in self.pipes:
            if pipe.name in names:
                raise ValueError(f"two pipes are named {pipe.name!r}; pipe names must be unique")
            names.add(pipe.name)
            for side in (pipe.source_connection, pipe.target_connection):
                if side not in self.connections:
                    known = ", ".join(sorted(self.connections)) or "none"
                    raise ValueError(
                        f"pipe {pipe.name!r} names connection {side!r}, which is not defined "
                        f"(connections: {known})"
                    )
            if (pipe.source_stream, pipe.target_stream) not in ROUTES:
                routes = ", ".join(f"{s} -> {t}" for s, t in ROUTES)
                raise ValueError(
                    f"pipe {pipe.name!r} goes from {pipe.source_stream} to {pipe.target_stream}; "
                    f"supported: {routes}"
                )
        return self

    def pipe(self, name: str) -> PipeConfig:
        """A pipe by name."""
        for pipe in self.pipes:
            if pipe.name == name:
                return pipe
        raise KeyError(name)


def config_schema() -> dict[str, Any]:
    """The JSON Schema of ``ledgerlink.yaml``, with every connector type's keys, for editors."""
    schema = LedgerlinkConfig.model_json_schema()
    defs = schema.setdefault("$defs", {})
    variants = []
    for connector in CONNECTOR_TYPES.values():
        sub = connector.config_model().model_json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        title = sub.get("title", connector.name)
        defs[title] = sub
        variants.append({"$ref": f"#/$defs/{title}"})
    schema["properties"]["connections"]["additionalProperties"] = {"oneOf": variants}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ledgerlink.yaml"
    return schema
