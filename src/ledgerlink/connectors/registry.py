"""Connector types by the name used in ``type:``; modules are imported only when a type is used."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ledgerlink.connectors.base import ConnectorContext, SourceConnector, TargetConnector
from ledgerlink.errors import ConfigError

Role = Literal["crm", "books"]


class ConnectorConfig(BaseModel):
    """Base of every connector's configuration: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class ConnectorType:
    """One kind of system ledgerlink can talk to."""

    name: str
    role: Role
    summary: str
    config_path: str
    connector_path: str

    def config_model(self) -> type[ConnectorConfig]:
        """The pydantic model of this type's ``connections:`` entry."""
        model: type[ConnectorConfig] = _load(self.config_path)
        return model

    def build(
        self, config: ConnectorConfig, context: ConnectorContext
    ) -> SourceConnector | TargetConnector:
        """Construct the connector; constructors do no I/O."""
        factory = _load(self.connector_path)
        connector: SourceConnector | TargetConnector = factory(config, context)
        return connector


def _load(path: str) -> Any:
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


CONNECTOR_TYPES: dict[str, ConnectorType] = {
    t.name: t
    for t in (
        ConnectorType(
            "csv",
            "crm",
            "Any CRM's CSV or XLSX export (contacts, deals) with a column map",
            "ledgerlink.connectors.csv.config:CsvConfig",
            "ledgerlink.connectors.csv.connector:CsvConnector",
        ),
        ConnectorType(
            "outlook_csv",
            "crm",
            "Outlook's 92-column contacts export",
            "ledgerlink.connectors.outlook.config:OutlookCsvConfig",
            "ledgerlink.connectors.outlook.connector:OutlookCsvConnector",
        ),
        ConnectorType(
            "vcard",
            "crm",
            "vCard 2.1/3.0/4.0 files (.vcf), one or many cards per file",
            "ledgerlink.connectors.outlook.config:VcardConfig",
            "ledgerlink.connectors.outlook.connector:VcardConnector",
        ),
        ConnectorType(
            "goldmine",
            "crm",
            "GoldMine's SQL database (SQL Server, or the same schema elsewhere) or dBase files",
            "ledgerlink.connectors.goldmine.config:GoldMineConfig",
            "ledgerlink.connectors.goldmine.connector:GoldMineConnector",
        ),
        ConnectorType(
            "quickbooks_online",
            "books",
            "QuickBooks Online Accounting API v3 (OAuth2, batch, CDC)",
            "ledgerlink.connectors.quickbooks.config:QuickBooksOnlineConfig",
            "ledgerlink.connectors.quickbooks.connector:QuickBooksOnlineConnector",
        ),
        ConnectorType(
            "tally",
            "books",
            "TallyPrime / Tally.ERP 9: XML over HTTP or import files, GST-aware",
            "ledgerlink.connectors.tally.config:TallyConfig",
            "ledgerlink.connectors.tally.connector:TallyConnector",
        ),
        ConnectorType(
            "beancount",
            "books",
            "A Beancount ledger file (the embedded default books)",
            "ledgerlink.connectors.beancount.config:BeancountConfig",
            "ledgerlink.connectors.beancount.connector:BeancountConnector",
        ),
    )
}


def connector_type(name: str) -> ConnectorType:
    """Look up a connector type, or raise a ``ConfigError`` listing the known ones."""
    found = CONNECTOR_TYPES.get(name)
    if found is None:
        known = ", ".join(sorted(CONNECTOR_TYPES))
        raise ConfigError(f"unknown connection type {name!r}", hint=f"Use one of: {known}")
    return found
