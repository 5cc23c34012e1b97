"""QuickBooks Online payloads as received and sent (v3 JSON names), as pydantic models.

Only the fields ledgerlink reads or writes are declared; everything else QuickBooks sends is kept
as received (``extra="allow"``). Amounts are ``Decimal`` because the JSON is parsed exactly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Dto(BaseModel):
    """Base of every payload: v3 field names as aliases, unknown fields kept."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", frozen=True)

    def wire(self) -> dict[str, Any]:
        """The JSON body QuickBooks expects: v3 names, only the fields that were set."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class Ref(Dto):
    """A reference to another object: ``{"value": Id, "name": display}``."""

    value: str
    name: str | None = None


class EmailAddress(Dto):
    """``PrimaryEmailAddr`` / ``BillEmail``."""

    address: str = Field("", alias="Address")


class Phone(Dto):
    """``PrimaryPhone``."""

    free_form_number: str = Field("", alias="FreeFormNumber")


class PhysicalAddress(Dto):
    """``BillAddr``."""

    line1: str | None = Field(None, alias="Line1")
    city: str | None = Field(None, alias="City")
    country_sub_division_code: str | None = Field(None, alias="CountrySubDivisionCode")
    postal_code: str | None = Field(None, alias="PostalCode")
    country: str | None = Field(None, alias="Country")


class MetaData(Dto):
    """Creation and last-update timestamps (ISO-8601 with offset)."""

    create_time: str | None = Field(None, alias="CreateTime")
    last_updated_time: str | None = Field(None, alias="LastUpdatedTime")


class Memo(Dto):
    """``CustomerMemo``."""

    value: str = ""


class CustomerDto(Dto):
    """A Customer (a name-list entity; deactivated, never deleted)."""

    id: str | None = Field(None, alias="Id")
    sync_token: str | None = Field(None, alias="SyncToken")
    sparse: bool | None = None
    display_name: str | None = Field(None, alias="DisplayName")
    given_name: str | None = Field(None, alias="GivenName")
    family_name: str | None = Field(None, alias="FamilyName")
    company_name: str | None = Field(None, alias="CompanyName")
    primary_email: EmailAddress | None = Field(None, alias="PrimaryEmailAddr")
    primary_phone: Phone | None = Field(None, alias="PrimaryPhone")
    bill_address: PhysicalAddress | None = Field(None, alias="BillAddr")
    tax_identifier: str | None = Field(None, alias="PrimaryTaxIdentifier")
    currency: Ref | None = Field(None, alias="CurrencyRef")
    notes: str | None = Field(None, alias="Notes")
    active: bool | None = Field(None, alias="Active")
    status: str | None = None
    meta: MetaData | None = Field(None, alias="MetaData")


class ItemDto(Dto):
    """An Item (a product or service a line sells)."""

    id: str | None = Field(None, alias="Id")
    sync_token: str | None = Field(None, alias="SyncToken")
    sparse: bool | None = None
    name: str | None = Field(None, alias="Name")
    kind: str | None = Field(None, alias="Type")
    income_account: Ref | None = Field(None, alias="IncomeAccountRef")
    active: bool | None = Field(None, alias="Active")


class SalesItemLineDetail(Dto):
    """The detail of a ``SalesItemLineDetail`` line."""

    item: Ref | None = Field(None, alias="ItemRef")
    quantity: Decimal | None = Field(None, alias="Qty")
    unit_price: Decimal | None = Field(None, alias="UnitPrice")
    tax_code: Ref | None = Field(None, alias="TaxCodeRef")


class DiscountLineDetail(Dto):
    """The detail of a ``DiscountLineDetail`` line."""

    percent_based: bool | None = Field(None, alias="PercentBased")
    discount_percent: Decimal | None = Field(None, alias="DiscountPercent")


class LinkedTxn(Dto):
    """A link between transactions (a payment applied to an invoice)."""

    txn_id: str = Field(alias="TxnId")
    txn_type: str = Field(alias="TxnType")


class Line(Dto):
    """One line of an invoice or a payment; polymorphic on ``DetailType``."""

    id: str | None = Field(None, alias="Id")
    detail_type: str | None = Field(None, alias="DetailType")
    amount: Decimal = Field(Decimal(0), alias="Amount")
    description: str | None = Field(None, alias="Description")
    sales_item: SalesItemLineDetail | None = Field(None, alias="SalesItemLineDetail")
    discount: DiscountLineDetail | None = Field(None, alias="DiscountLineDetail")
    linked: list[LinkedTxn] | None = Field(None, alias="LinkedTxn")


class TaxLineDetail(Dto):
    """The detail of one tax line of ``TxnTaxDetail``."""

    percent: Decimal | None = Field(None, alias="TaxPercent")
    taxable: Decimal | None = Field(None, alias="NetAmountTaxable")


class TaxLine(Dto):
    """One tax line of ``TxnTaxDetail``."""

    amount: Decimal = Field(Decimal(0), alias="Amount")
    detail: TaxLineDetail | None = Field(None, alias="TaxLineDetail")


class TxnTaxDetail(Dto):
    """Document-level tax: the tax code and the total tax."""

    tax_code: Ref | None = Field(None, alias="TxnTaxCodeRef")
    total_tax: Decimal | None = Field(None, alias="TotalTax")
    lines: list[TaxLine] | None = Field(None, alias="TaxLine")


class InvoiceDto(Dto):
    """An Invoice (voided, never deleted, by ledgerlink)."""

    id: str | None = Field(None, alias="Id")
    sync_token: str | None = Field(None, alias="SyncToken")
    sparse: bool | None = None
    customer: Ref | None = Field(None, alias="CustomerRef")
    doc_number: str | None = Field(None, alias="DocNumber")
    txn_date: str | None = Field(None, alias="TxnDate")
    due_date: str | None = Field(None, alias="DueDate")
    currency: Ref | None = Field(None, alias="CurrencyRef")
    lines: list[Line] | None = Field(None, alias="Line")
    tax: TxnTaxDetail | None = Field(None, alias="TxnTaxDetail")
    customer_memo: Memo | None = Field(None, alias="CustomerMemo")
    private_note: str | None = Field(None, alias="PrivateNote")
    total: Decimal | None = Field(None, alias="TotalAmt")
    balance: Decimal | None = Field(None, alias="Balance")
    linked: list[LinkedTxn] | None = Field(None, alias="LinkedTxn")
    status: str | None = None
    meta: MetaData | None = Field(None, alias="MetaData")


class PaymentDto(Dto):
    """A Payment, applied to invoices through its lines' ``LinkedTxn``."""

    id: str | None = Field(None, alias="Id")
    sync_token: str | None = Field(None, alias="SyncToken")
    customer: Ref | None = Field(None, alias="CustomerRef")
    total: Decimal | None = Field(None, alias="TotalAmt")
    txn_date: str | None = Field(None, alias="TxnDate")
    reference: str | None = Field(None, alias="PaymentRefNum")
    currency: Ref | None = Field(None, alias="CurrencyRef")
    lines: list[Line] | None = Field(None, alias="Line")
    status: str | None = None
    meta: MetaData | None = Field(None, alias="MetaData")


class FaultError(Dto):
    """One error of a Fault."""

    message: str = Field("", alias="Message")
    detail: str = Field("", alias="Detail")
    code: str = ""
    element: str | None = None


class Fault(Dto):
    """``{"Fault": {"Error": [...], "type": ...}}``; HTTP 200 can carry one too."""

    errors: list[FaultError] = Field(default_factory=list, alias="Error")
    kind: str | None = Field(None, alias="type")

    @property
    def code(self) -> str:
        """The first error's code ("" when there is none)."""
        return self.errors[0].code if self.errors else ""

    def describe(self) -> str:
        """The vendor's own words, for an error message."""
        parts = [e.detail or e.message for e in self.errors]
        return "; ".join(p for p in parts if p) or (self.kind or "unknown fault")
