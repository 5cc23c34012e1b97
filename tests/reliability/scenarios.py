"""The crash scenarios: a workspace before the run, the CRM during it, and the command killed."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.books import Books, read_books
from tests.reliability.crm import Contact, Crm, Deal, config_text, sample_crm
from tests.reliability.processes import run_cli

BATCH_SIZE = 3
LEDGER = "books.beancount"


@dataclass(frozen=True, slots=True)
class Scenario:
    """``before`` is synced cleanly (exit ``before_exit``), then the CRM becomes ``after`` and
    ``command`` is the run that gets killed; ``shards`` splits its kill points between tests."""

    name: str
    before: Crm | None
    after: Crm
    command: tuple[str, ...]
    before_exit: int = 0
    shards: int = 1


def _first_sync() -> Scenario:
    return Scenario("first-sync", None, sample_crm(24, 24), ("sync",), shards=6)


def _edits() -> Scenario:
    before = sample_crm(20, 20)
    after = before.copy()
    for i in range(1, 7):
        after.edit_contact(f"C{i:03d}", phone=f"+1 512 555 {i:04d}")
    after.edit_contact("C003", email="c003@new.example.com")
    after.edit_contact("C004", email="c004@new.example.com", city="Dallas")
    after.edit_contact("C005", name="Customer 005 Ltd (renamed)")
    for i in range(21, 27):
        after.put_contact(Contact(f"C{i:03d}", f"Newcomer {i}", f"n{i}@example.com"))
        after.put_deal(Deal(f"D{i:03d}", f"New deal {i}", f"C{i - 18:03d}", f"{i}0.50"))
    after.edit_deal("D001", amount="150.00")
    after.edit_deal("D002", amount="2500.25", tax_rate="20")
    after.edit_deal("D003", title="Deal 3, renegotiated", amount="333.33")
    after.edit_deal("D005", stage="Won")
    after.edit_deal("D010", stage="Closed Won")
    return Scenario("sync-with-edits", before, after, ("sync",), shards=4)


def _dlq_retry() -> Scenario:
    fixed = sample_crm(18, 18)
    broken = fixed.copy()
    for i in range(14, 19):
        broken.edit_contact(f"C{i:03d}", email="not-an-email")
    for i in (2, 3, 4, 6, 7, 8):
        broken.edit_deal(f"D{i:03d}", amount=f"-{i}0.00")
    return Scenario("dlq-retry", broken, fixed, ("dlq", "retry"), before_exit=1, shards=3)


SCENARIOS = {s.name: s for s in (_first_sync(), _edits(), _dlq_retry())}


@dataclass(frozen=True, slots=True)
class Prepared:
    """A scenario ready to crash: the folder to copy, and what a clean run passes and leaves."""

    scenario: Scenario
    template: Path
    trace: tuple[str, ...]
    clean_books: Books
    clean_exit: int

    def copy_to(self, folder: Path) -> Path:
        shutil.copytree(self.template, folder)
        return folder


def prepare(scenario: Scenario, root: Path) -> Prepared:
    """Build the pre-crash workspace, then run ``command`` once cleanly with a crash trace."""
    template = root / "template"
    template.mkdir(parents=True)
    (template / "ledgerlink.yaml").write_text(config_text(BATCH_SIZE, LEDGER), encoding="utf-8")
    if scenario.before is not None:
        scenario.before.write(template)
        done = run_cli(template, "sync", "--json")
        assert done.returncode == scenario.before_exit, done
    scenario.after.write(template)
    clean = shutil.copytree(template, root / "clean")
    trace = root / "trace.txt"
    outcome = run_cli(clean, *scenario.command, "--json", trace=trace)
    names = tuple(trace.read_text(encoding="utf-8").split())
    return Prepared(scenario, template, names, read_books(clean / LEDGER), outcome.returncode)
