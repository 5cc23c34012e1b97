"""CSV → QuickBooks Online (the emulator, over real HTTP) workspaces for the crash harness."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ledgerlink.connectors.quickbooks.translate import read_stamp
from tests.emulators.qbo.api import QboEmulator
from tests.emulators.qbo.server import EmulatorServer
from tests.reliability.crm import Crm, sample_crm

SECRET_ENV = "QBO_SECRET"


def qbo_crm() -> Crm:
    """Eight contacts and seven won deals, untaxed (the connection sets no tax code)."""
    crm = sample_crm(8, 8)
    for key in list(crm.deals):
        crm.edit_deal(key, tax_rate="")
    return crm


@dataclass(slots=True)
class QboWorkspace:
    """A folder whose books are a running QuickBooks emulator."""

    folder: Path
    qbo: QboEmulator
    server: EmulatorServer

    @property
    def env(self) -> dict[str, str]:
        return {SECRET_ENV: self.qbo.client_secret}

    def authorise(self) -> None:
        """Connect the app again (a new refresh token) and write the configuration with it."""
        grant = self.qbo.authorise()
        (self.folder / "ledgerlink.yaml").write_text(
            f"""\
version: 1
state: sqlite:///ledgerlink.db
connections:
  crm: {{type: csv, contacts: contacts.csv, deals: deals.csv}}
  books:
    type: quickbooks_online
    realm_id: "{grant.realm_id}"
    client_id: {grant.client_id}
    client_secret: ${{{SECRET_ENV}}}
    refresh_token: {grant.refresh_token}
    base_url: {self.server.base_url}
    token_url: {self.server.token_url}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
  - name: invoices
    from: crm.deals
    to: books.invoices
""",
            encoding="utf-8",
        )

    def writes(self) -> int:
        calls = self.qbo.stats.calls
        return calls.get("batch", 0) + calls.get("write", 0)


@contextmanager
def qbo_workspace(folder: Path, crm: Crm, *, rotation_grace: float = 0.0) -> Iterator[QboWorkspace]:
    """A fresh emulator (one service item), served on 127.0.0.1, and the CSV exports.

    ``rotation_grace``: how long a rotated-away refresh token keeps working (0: strict).
    """
    qbo = QboEmulator()
    qbo.oauth.rotation_grace = rotation_grace
    qbo.seed("Item", {"Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    folder.mkdir(parents=True)
    crm.write(folder)
    with EmulatorServer(qbo) as server:
        workspace = QboWorkspace(folder, qbo, server)
        workspace.authorise()
        yield workspace


def qbo_differences(qbo: QboEmulator, crm: Crm) -> list[str]:
    """How the QuickBooks company differs from the CRM: duplicates, losses, wrong totals."""
    problems: list[str] = []
    customers = qbo.company.all("Customer")
    invoices = qbo.company.all("Invoice")
    stamps = Counter(read_stamp(c.get("Notes"))[1] for c in customers)
    emails = Counter(
        str(c.get("PrimaryEmailAddr", {}).get("Address", "")).lower() for c in customers
    )
    invoice_stamps = Counter(read_stamp(i.get("PrivateNote"))[1] for i in invoices)
    for what, counts in (("customer", stamps), ("e-mail", emails), ("invoice", invoice_stamps)):
        problems += [f"duplicate {what} {key} x{n}" for key, n in counts.items() if n > 1]
    by_id = {c["Id"]: read_stamp(c.get("Notes"))[1] for c in customers}
    for lid, want in crm.expected_customers().items():
        if lid not in stamps:
            problems.append(f"lost customer {want.key}")
    for lid, want_invoice in crm.expected_invoices().items():
        found = [i for i in invoices if read_stamp(i.get("PrivateNote"))[1] == lid]
        if not found:
            problems.append(f"lost invoice {want_invoice.key}")
            continue
        if Decimal(str(found[0]["TotalAmt"])) != want_invoice.total:
            problems.append(f"invoice {want_invoice.key}: total {found[0]['TotalAmt']}")
        if by_id.get(found[0]["CustomerRef"]["value"]) != want_invoice.customer:
            problems.append(f"invoice {want_invoice.key} is for another customer")
    extra = set(stamps) - set(crm.expected_customers())
    extra |= set(invoice_stamps) - set(crm.expected_invoices())
    problems += [f"unexpected record {lid!r}" for lid in sorted(extra)]
    return problems
