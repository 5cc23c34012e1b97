"""Entity rules: customers, items, invoices (create, sparse/full update, void), payments.

Each rule cites accounting-systems.md: §1.3 payload skeletons and name-list rules, §1.4 SyncToken,
§1.12 money. A failing rule raises ``QboFault`` before anything is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tests.emulators.qbo.clock import COMPANY_TZ
from tests.emulators.qbo.company import Company, Entity
from tests.emulators.qbo.faults import QboFault, invalid_reference, missing_param

CENT = Decimal("0.01")
# ⚠ field lengths per Intuit's entity reference pages (not in the compiled reference); strict on
# purpose so a client that trims passes the real service too.
MAX_LENGTHS = {"DisplayName": 500, "Notes": 2000, "PrivateNote": 4000, "DocNumber": 21, "Name": 100}
SALES_LINE_TYPES = (
    "SalesItemLineDetail",
    "SubTotalLineDetail",
    "DiscountLineDetail",
    "DescriptionOnly",
    "GroupLineDetail",
)


def _check_lengths(body: Entity) -> None:
    for key, limit in MAX_LENGTHS.items():
        value = body.get(key)
        if isinstance(value, str) and len(value) > limit:
            raise QboFault(
                "2050",
                "String length is either shorter or longer than supported by specification",
                f"{key} is {len(value)} characters; at most {limit} are allowed",
                element=key,
            )


def _money(value: Any, element: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise QboFault(
            "2010", "Request has invalid or unsupported property", element, element=element
        )
    return Decimal(value)


# -- customers ----------------------------------------------------------------------------------


def _display_name(body: Entity) -> str:
    """DisplayName, or one derived from the name parts as QBO does when it is left out."""
    name = str(body.get("DisplayName") or "").strip()
    if name:
        return name
    parts = [
        str(body.get(k) or "").strip()
        for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
    ]
    derived = " ".join(p for p in parts if p) or str(body.get("CompanyName") or "").strip()
    if not derived:
        raise QboFault(
            "6080",
            "No Name Provided",
            "Title, GivenName, MiddleName, FamilyName, DisplayName, Suffix - one of these must be "
            "non-empty",
        )
    return derived


def create_customer(company: Company, body: Entity) -> Entity:
    """§1.3 Customer: DisplayName unique (6240); Active defaults to true."""
    _check_lengths(body)
    name = _display_name(body)
    company.check_name_free("Customer", name)
    fields = {**body, "DisplayName": name, "FullyQualifiedName": name, "Balance": Decimal(0)}
    fields.setdefault("Active", True)
    fields.setdefault("CurrencyRef", {"value": company.currency})
    return company.store_new("Customer", fields)


def update_customer(company: Company, body: Entity) -> Entity:
    """§1.4 sparse or full update; a new DisplayName must be free (6240)."""
    _check_lengths(body)
    current = company.locked_for_update("Customer", body)
    if "DisplayName" in body or body.get("sparse") is not True:
        name = _display_name({**(current if body.get("sparse") else {}), **body})
        company.check_name_free("Customer", name, own_id=current["Id"])
        body = {**body, "DisplayName": name, "FullyQualifiedName": name}
    return company.store_update("Customer", body)


def create_vendor(company: Company, body: Entity) -> Entity:
    """A Vendor shares the DisplayName namespace with customers (§1.3 ⚠); used to seed clashes."""
    name = _display_name(body)
    company.check_name_free("Vendor", name)
    return company.store_new("Vendor", {**body, "DisplayName": name, "Active": True})


# -- items -------------------------------------------------------------------------------------


def create_item(company: Company, body: Entity) -> Entity:
    """§1.3 Item: unique Name (6240); Service/NonInventory need an income account."""
    _check_lengths(body)
    name = str(body.get("Name") or "").strip()
    if not name:
        raise missing_param("Name")
    company.check_name_free("Item", name)
    kind = body.get("Type", "Inventory")
    if kind in ("Service", "NonInventory"):
        account = (body.get("IncomeAccountRef") or {}).get("value")
        if not account:
            raise missing_param("IncomeAccountRef")
        if str(account) not in company.accounts:
            raise invalid_reference("IncomeAccountRef", str(account))
    fields = {**body, "Name": name, "FullyQualifiedName": name, "Type": kind}
    fields.setdefault("Active", True)
    return company.store_new("Item", fields)


def update_item(company: Company, body: Entity) -> Entity:
    """Sparse or full update of an item (reactivation sends ``Active: true``)."""
    current = company.locked_for_update("Item", body)
    if "Name" in body:
        company.check_name_free("Item", str(body["Name"]), own_id=current["Id"])
    return company.store_update("Item", body)


# -- invoices ----------------------------------------------------------------------------------


def _priced_lines(company: Company, lines: Any) -> tuple[list[Entity], Decimal]:
    """Validate sales lines (§1.3) and add the server's SubTotal line; return lines and subtotal."""
    if not isinstance(lines, list) or not lines:
        raise missing_param("Line")
    kept: list[Entity] = []
    subtotal = Decimal(0)
    for line in lines:
        kind = line.get("DetailType")
        if kind not in SALES_LINE_TYPES:
            raise QboFault(
                "2010", "Request has invalid or unsupported property", f"DetailType {kind}"
            )
        if kind == "SubTotalLineDetail":
            continue  # the server computes it
        if "Amount" not in line:
            raise missing_param("Line.Amount")
        amount = _money(line["Amount"], "Line.Amount")
        if kind == "SalesItemLineDetail":
            detail = line.get("SalesItemLineDetail") or {}
            item = str((detail.get("ItemRef") or {}).get("value") or "")
            if not item:
                raise missing_param("SalesItemLineDetail.ItemRef")
            company.active_or_fault("Item", item, "ItemRef")
            qty, price = detail.get("Qty"), detail.get("UnitPrice")
            if qty is not None and price is not None:
                expected = (_money(qty, "Qty") * _money(price, "UnitPrice")).quantize(
                    CENT, ROUND_HALF_UP
                )
                if expected != amount.quantize(CENT, ROUND_HALF_UP):
                    raise QboFault(
                        "6070",
                        "Amount calculation incorrect in the request",
                        f"Amount is not equal to Qty * UnitPrice. Supplied value:{amount}",
                    )
            subtotal += amount
        elif kind == "DiscountLineDetail":
            subtotal -= amount
        kept.append(line)
    kept.append({"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    return kept, subtotal


def _paid(company: Company, invoice_id: str) -> Decimal:
    total = Decimal(0)
    for payment in company.entities.get("Payment", {}).values():
        for line in payment.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == "Invoice" and str(link.get("TxnId")) == invoice_id:
                    total += Decimal(line.get("Amount", 0))
    return total


def create_invoice(company: Company, body: Entity) -> Entity:
    """§1.3 Invoice: active customer and items (610), server-computed TotalAmt and Balance."""
    _check_lengths(body)
    customer = str((body.get("CustomerRef") or {}).get("value") or "")
    if not customer:
        raise missing_param("CustomerRef")
    company.active_or_fault("Customer", customer, "CustomerRef")
    lines, subtotal = _priced_lines(company, body.get("Line"))
    tax = _money((body.get("TxnTaxDetail") or {}).get("TotalTax", Decimal(0)), "TotalTax")
    today = company.clock.now().astimezone(COMPANY_TZ).date()
    txn_date = str(body.get("TxnDate") or today.isoformat())
    fields = {**body, "Line": lines, "TotalAmt": subtotal + tax, "Balance": subtotal + tax}
    fields["TxnDate"] = txn_date
    fields.setdefault("DueDate", (today + timedelta(days=30)).isoformat())
    fields.setdefault("CurrencyRef", {"value": company.currency})
    if not fields.get("DocNumber"):
        fields["DocNumber"] = str(1000 + len(company.entities.get("Invoice", {})) + 1)
    return company.store_new("Invoice", fields)


def update_invoice(company: Company, body: Entity) -> Entity:
    """§1.4: sparse or full; ``Line`` replaces every line; totals are recomputed."""
    _check_lengths(body)
    current = company.locked_for_update("Invoice", body)
    if current.get("_status") == "Voided":
        raise QboFault("6000", "A business validation error has occurred", "the invoice is void")
    if "CustomerRef" in body:
        company.active_or_fault("Customer", str(body["CustomerRef"].get("value")), "CustomerRef")
    lines, subtotal = _priced_lines(company, body.get("Line", current.get("Line")))
    tax_detail = body.get("TxnTaxDetail", current.get("TxnTaxDetail")) or {}
    tax = _money(tax_detail.get("TotalTax", Decimal(0)), "TotalTax")
    updated = company.store_update("Invoice", {**body, "Line": lines})
    stored = company.peek("Invoice", updated["Id"])
    assert stored is not None
    stored["TotalAmt"] = subtotal + tax
    stored["Balance"] = subtotal + tax - _paid(company, updated["Id"])
    return company.get("Invoice", updated["Id"])


def void_invoice(company: Company, body: Entity) -> Entity:
    """§1.1 ``operation=void``: amounts become zero, "Voided" goes before the private note, the
    record stays (⚠ third-party: an invoice with a payment applied cannot be voided)."""
    current = company.locked_for_update("Invoice", body)
    if _paid(company, current["Id"]):
        raise QboFault(
            "6000",
            "A business validation error has occurred",
            "This transaction has a payment applied; remove the payment before voiding it",
        )
    for line in current.get("Line", []):
        line["Amount"] = Decimal(0)
        detail = line.get("SalesItemLineDetail")
        if detail is not None:
            detail.pop("Qty", None)
            detail["UnitPrice"] = Decimal(0)
    if "TxnTaxDetail" in current:
        current["TxnTaxDetail"]["TotalTax"] = Decimal(0)
    note = str(current.get("PrivateNote") or "")
    current["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    current["TotalAmt"] = Decimal(0)
    current["Balance"] = Decimal(0)
    current["_status"] = "Voided"
    return company.touch("Invoice", current, "Void")


# -- payments ----------------------------------------------------------------------------------


def create_payment(company: Company, body: Entity) -> Entity:
    """§1.3 Payment applied through ``LinkedTxn``; each linked invoice's Balance goes down."""
    customer = str((body.get("CustomerRef") or {}).get("value") or "")
    if not customer:
        raise missing_param("CustomerRef")
    company.active_or_fault("Customer", customer, "CustomerRef")
    total = _money(body.get("TotalAmt"), "TotalAmt")
    applied = Decimal(0)
    touched: list[Entity] = []
    for line in body.get("Line", []):
        amount = _money(line.get("Amount"), "Line.Amount")
        for link in line.get("LinkedTxn", []):
            invoice = company.peek("Invoice", str(link.get("TxnId")))
            if invoice is None or link.get("TxnType") != "Invoice":
                raise invalid_reference("LinkedTxn", str(link.get("TxnId")))
            if amount > Decimal(invoice["Balance"]):
                raise QboFault("6000", "A business validation error has occurred", "overpayment")
            touched.append(invoice)
        applied += amount
    stored = company.store_new("Payment", {**body, "UnappliedAmt": total - applied})
    for invoice in touched:
        invoice["Balance"] = Decimal(invoice["TotalAmt"]) - _paid(company, invoice["Id"])
        invoice.setdefault("LinkedTxn", []).append({"TxnId": stored["Id"], "TxnType": "Payment"})
        company.touch("Invoice", invoice, "Update")
    return stored


def delete_payment(company: Company, body: Entity) -> Entity:
    """Deleting a payment gives the invoices their balance back."""
    current = company.locked_for_update("Payment", body)
    invoices = {
        str(link.get("TxnId"))
        for line in current.get("Line", [])
        for link in line.get("LinkedTxn", [])
    }
    result = company.delete("Payment", body)
    for identifier in invoices:
        invoice = company.peek("Invoice", identifier)
        if invoice is not None:
            invoice["Balance"] = Decimal(invoice["TotalAmt"]) - _paid(company, identifier)
            company.touch("Invoice", invoice, "Update")
    return result


Operation = Callable[[Company, Entity], Entity]

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("Customer", "create"): create_customer,
    ("Customer", "update"): update_customer,
    ("Vendor", "create"): create_vendor,
    ("Item", "create"): create_item,
    ("Item", "update"): update_item,
    ("Invoice", "create"): create_invoice,
    ("Invoice", "update"): update_invoice,
    ("Invoice", "void"): void_invoice,
    ("Invoice", "delete"): lambda company, body: company.delete("Invoice", body),
    ("Payment", "create"): create_payment,
    ("Payment", "delete"): delete_payment,
}


def run(company: Company, entity: str, operation: str, body: Entity) -> Entity:
    """Apply one operation under the company lock, or raise the fault QBO would answer with."""
    rule = OPERATIONS.get((entity, operation))
    if rule is None:
        raise QboFault(
            "500", "Unsupported Operation", f"Operation {operation} is not supported for {entity}"
        )
    with company.lock:
        return rule(company, body)
