"""Configuration of a Beancount ledger connection: the file, the accounts and the currency."""

from __future__ import annotations

from datetime import date
from typing import Literal

from beancount.core import account as bc_account
from pydantic import Field, field_validator

from ledgerlink.canonical.money import MINOR_UNITS, RoundingMode
from ledgerlink.canonical.records import TaxMode
from ledgerlink.connectors.registry import ConnectorConfig


def _check_account(value: str) -> str:
    """A full Beancount account name (``Assets:Receivable``), as Beancount itself checks it."""
    name = value.strip()
    if not bc_account.is_valid(name):
        raise ValueError(
            f"{value!r} is not a Beancount account name: use components separated by ':', "
            "each starting with a capital letter or digit, for example 'Assets:Receivable'"
        )
    return name


class BeancountConfig(ConnectorConfig):
    """A plain-text Beancount ledger used as the books (the embedded default)."""

    type: Literal["beancount"] = Field(description="Connection type: a Beancount ledger file.")
    path: str = Field(
        description="The main ledger file; relative paths are taken from the config file's "
        "folder. ledgerlink writes only this file (files it `include`s are read, never written)."
    )
    currency: str = Field(
        default="USD",
        description="ISO 4217 code used when a record has no currency of its own.",
    )
    receivable_account: str = Field(
        default="Assets:Receivable",
        description="Parent account of the customers: each customer is a sub-account of it.",
    )
    income_account: str = Field(
        default="Income:Sales",
        description="Income account of invoice lines whose SKU is not in `item_accounts`.",
    )
    tax_account: str = Field(
        default="Liabilities:SalesTax",
        description="Account that receives the tax of every invoice tax line.",
    )
    item_accounts: dict[str, str] = Field(
        default_factory=dict,
        description="Income account per item SKU, for example {CONSULT: Income:Consulting}.",
    )
    open_date: date = Field(
        default=date(2000, 1, 1),
        description="Date of the `open` directives ledgerlink writes, early so that back-dated "
        "invoices stay valid.",
    )
    rounding: RoundingMode = Field(
        default="half-up",
        description="How amounts are rounded to the currency's minor unit before writing.",
    )
    tax_mode: TaxMode = Field(
        default="line",
        description="Whether tax is computed per invoice line or on the document total.",
    )
    batch_size: int = Field(
        default=5000,
        ge=1,
        le=1_000_000,
        description="Records written per batch; each batch costs one load and one validation "
        "of the whole ledger.",
    )
    create: bool = Field(
        default=True,
        description="Create the ledger file on the first write when it does not exist.",
    )

    @field_validator("receivable_account", "income_account", "tax_account")
    @classmethod
    def _valid_account(cls, value: str) -> str:
        return _check_account(value)

    @field_validator("item_accounts")
    @classmethod
    def _valid_item_accounts(cls, value: dict[str, str]) -> dict[str, str]:
        return {sku: _check_account(name) for sku, name in value.items()}

    @field_validator("currency")
    @classmethod
    def _valid_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in MINOR_UNITS:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code such as USD or EUR")
        return code
