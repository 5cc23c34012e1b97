"""``ledgerlink demo``: sample CRM data synced into a Beancount ledger, step by step."""

from __future__ import annotations

import csv
import io
import shutil
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from ledgerlink.cli import render
from ledgerlink.config.loader import load_config
from ledgerlink.errors import ConfigError
from ledgerlink.sync.run import RunReport, Workspace, execute_run

MARKER = "# ledgerlink demo workspace"
DEMO_CONFIG = f"""\
{MARKER} (`ledgerlink demo` resets it; edit freely otherwise)
version: 1
state: sqlite:///ledgerlink.db
connections:
  crm:   {{type: outlook_csv, path: outlook-contacts.csv}}
  sales: {{type: csv, deals: deals.csv, currency: USD}}
  books: {{type: beancount, path: books.beancount, currency: USD}}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
  - name: invoices
    from: sales.deals
    to: books.invoices
"""
SAMPLES = ("outlook-contacts.csv", "deals.csv")
EDITED_COLUMN = "Business Phone"
WORKSPACE_FILES = (
    "ledgerlink.yaml",
    "ledgerlink.db",
    "ledgerlink.db-wal",
    "ledgerlink.db-shm",
    "books.beancount",
    *SAMPLES,
)


def run_demo(directory: Path, console: Console) -> int:
    """Create (or reset) the demo workspace and walk through plan, sync, re-sync and an edit."""
    _prepare(directory)
    loaded = load_config(directory / "ledgerlink.yaml")
    workspace = Workspace.open(loaded)
    try:
        console.print(Rule("1. plan: a preview; nothing is written"))
        plan = execute_run(workspace, command="plan")
        render.print_report(console, plan)
        console.print(Rule("2. sync: customers and invoices into books.beancount"))
        first = _sync(workspace, console)
        console.print(Rule("3. sync again: nothing changed in the CRM, so nothing is written"))
        second = _sync(workspace, console)
        console.print(Rule(f"4. edit one contact's {EDITED_COLUMN} in the CRM export, then sync"))
        console.print(_edit_contact(directory / SAMPLES[0]))
        third = _sync(workspace, console)
    finally:
        workspace.close()
    _where_next(console, directory)
    return max(first.exit_code, second.exit_code, third.exit_code)


def _sync(workspace: Workspace, console: Console) -> RunReport:
    report = execute_run(workspace, command="sync")
    render.print_report(console, report)
    return report


def _prepare(directory: Path) -> None:
    config = directory / "ledgerlink.yaml"
    if directory.exists() and any(directory.iterdir()):
        is_demo = config.exists() and config.read_text(encoding="utf-8").startswith(MARKER)
        if not is_demo:
            raise ConfigError(
                f"{directory} exists and is not a ledgerlink demo workspace",
                hint="Pass an empty or new directory: ledgerlink demo PATH",
            )
        for name in WORKSPACE_FILES:
            (directory / name).unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
    samples = resources.files("ledgerlink.demo") / "samples"
    for name in SAMPLES:
        with resources.as_file(samples / name) as source:
            shutil.copyfile(source, directory / name)
    config.write_text(DEMO_CONFIG, encoding="utf-8")


def _edit_contact(path: Path) -> str:
    """Change the business phone of the first contact that has one, keeping the file's encoding."""
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "cp1252"
    text = raw.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    column = header.index(EDITED_COLUMN)
    for row in rows[1:]:
        if len(row) > column and row[column]:
            before, row[column] = row[column], "+1 415 555 0199"
            name = " ".join(p for p in row[1:4] if p) or row[header.index("Company")]
            break
    else:  # pragma: no cover - the bundled sample always has a phone
        raise ConfigError(f"no contact in {path} has a {EDITED_COLUMN}")
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return f"Changed {name}'s {EDITED_COLUMN}: {before} → +1 415 555 0199"


def _where_next(console: Console, directory: Path) -> None:
    console.print(Rule("where to look next"))
    console.print(
        f"- The books: {directory / 'books.beancount'} (plain text; `bean-check` validates it)\n"
        f"- The configuration: {directory / 'ledgerlink.yaml'}\n"
        f"- Runs and links: ledgerlink status -c {directory / 'ledgerlink.yaml'}\n"
        f"- Try a bad record: set a deal's amount to -5 in {directory / 'deals.csv'}, run "
        f"`ledgerlink sync -c {directory / 'ledgerlink.yaml'}`, then `ledgerlink dlq list`.",
        highlight=False,
    )
