"""The example ledger of docs/connectors/beancount.md: page, fixture and reader agree."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

from ledgerlink.canonical.records import Payment
from tests.connectors.beancount_support import load_ok, make_connector

ROOT = Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "tests" / "fixtures" / "beancount" / "example.beancount"
DOC = ROOT / "docs" / "connectors" / "beancount.md"


def test_the_documented_example_is_the_fixture_and_loads() -> None:
    block = re.search(
        r"<!-- example-ledger -->\n```beancount\n(.*?)```\n<!-- /example-ledger -->",
        DOC.read_text(),
        re.DOTALL,
    )
    assert block is not None
    assert block.group(1) == EXAMPLE.read_text()
    load_ok(EXAMPLE)


def test_the_example_reads_back_as_the_page_says(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "books.beancount")
    books = make_connector(tmp_path, item_accounts={"TRAIN": "Income:Training"})

    customers = {t.target_id: t for t in books.read_existing("customers")}
    assert set(customers) == {"Assets:Receivable:Acme-Ltd", "Assets:Receivable:Globex"}
    assert customers["Assets:Receivable:Globex"].ledgerlink_id == ""
    statuses = {t.target_id: t.record.status for t in books.read_existing("invoices")}  # type: ignore[union-attr]
    assert statuses == {"INV-0001": "paid", "INV-0002": "void"}
    [payment] = [c.load() for c in books.read("payments", None)]  # type: ignore[union-attr]
    assert payment == Payment(
        "INV-0001",
        Decimal("605.00"),
        "USD",
        payment.paid_on,
        "Payment, thank you",
        "Assets:Receivable:Acme-Ltd",
    )
