"""GoldMine (a SQLite file) ⇄ QuickBooks Online (the emulator over HTTP), both pipes two-way.

The workspace is prepared once: four GoldMine contacts and three won opportunities are synced
cleanly, then both sides are edited (a phone in QuickBooks, a name in GoldMine, a different field
on each side of a third contact, a payment received in QuickBooks). The command under test is the
next ``ledgerlink sync``. Every kill point starts from the same prepared state: the workspace
folder (``goldmine.db``, ``ledgerlink.db`` and its key file, the configuration) is copied, and the
emulator, which keeps running in the test process, is put back to its snapshot (company, OAuth
grants and access tokens, ``requestid`` replays, call counts).
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from ledgerlink.canonical.serialise import to_jsonable
from ledgerlink.connectors.goldmine.schema import goldmine_tables
from ledgerlink.connectors.quickbooks.connector import ROUND_TRIP_FIELDS
from ledgerlink.connectors.quickbooks.dto import CustomerDto
from ledgerlink.connectors.quickbooks.translate import customer_from_dto, read_stamp
from ledgerlink.mapping.defaults import contact_to_customer
from ledgerlink.mapping.reverse import TWO_WAY_FIELDS
from ledgerlink.planning.merge import same
from ledgerlink.state.store import StateStore
from tests.emulators.goldmine import GoldMineEmulator, connector_for, read_all
from tests.emulators.qbo.api import QboEmulator
from tests.emulators.qbo.clock import ScaledClock
from tests.emulators.qbo.company import Company
from tests.emulators.qbo.server import EmulatorServer
from tests.reliability.processes import Outcome, run_cli

SECRET_ENV = "QBO_SECRET"
STATE_DB = "ledgerlink.db"
GOLDMINE_DB = "goldmine.db"
PIPES = ("customers", "invoices")
#: The customer fields both systems hold exactly: what the engine compares (``books_view``).
COMPARED = tuple(f for f in TWO_WAY_FIELDS["customers"] if f in ROUND_TRIP_FIELDS["customers"])
#: The columns that tell whether ledgerlink touched a GoldMine row.
GOLDMINE_TABLES = ("contact1", "contact2", "contsupp", "opmgr")
PAID_ON = "2026-10-20"
PAID_DEAL, PAID_AMOUNT = "Codebreaking", "99.99"  # the deal whose invoice is paid in QuickBooks

CONTACTS = {
    "ada": ("Ada Lovelace", "Analytical Ltd", "ada@example.com", "(415) 555-0101"),
    "alan": ("Alan Turing", "Bletchley Co", "alan@example.com", "(415) 555-0102"),
    "grace": ("Grace Hopper", "Cobol Inc", "grace@example.com", "(415) 555-0103"),
    "edsger": ("Edsger Dijkstra", "Shortest Path BV", "edsger@example.com", "(415) 555-0104"),
}
DEALS = (  # (contact, name, amount, won)
    ("ada", "Engine design", "1200.00", True),
    ("alan", "Codebreaking", "99.99", True),
    ("grace", "Compiler", "5000.00", True),
    ("edsger", "Semaphores", "750.00", False),
)


def config_text(qbo: QboEmulator, server: EmulatorServer, refresh_token: str) -> str:
    """Both pipes two-way; every path relative to the workspace (runs start in it)."""
    return f"""\
version: 1
state: sqlite:///{STATE_DB}
connections:
  crm:
    type: goldmine
    url: "sqlite:///{GOLDMINE_DB}"
    currency: USD
    opportunity_fields: {{invoice_number: F1, paid_status: F2, paid_on: F3}}
  books:
    type: quickbooks_online
    realm_id: "{qbo.realm_id}"
    client_id: {qbo.client_id}
    client_secret: ${{{SECRET_ENV}}}
    refresh_token: {refresh_token}
    base_url: {server.base_url}
    token_url: {server.token_url}
    batch_size: 2
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
    direction: two-way
  - name: invoices
    from: crm.deals
    to: books.invoices
    direction: two-way
"""


# -- the emulator's state, kept and put back -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class QboSnapshot:
    """Everything of the emulator that a run can change (its clock keeps running)."""

    company: dict[str, Any]
    grants: dict[str, Any]
    access: dict[str, Any]
    refreshes: int
    replays: dict[Any, Any]


def _company_data(company: Company) -> dict[str, Any]:
    return {
        f.name: copy.deepcopy(getattr(company, f.name))
        for f in dataclasses.fields(company)
        if f.name not in ("clock", "lock")
    }


def snapshot(qbo: QboEmulator) -> QboSnapshot:
    """The emulator's company, tokens and replay memory, deep-copied."""
    with qbo.company.lock:
        company = _company_data(qbo.company)
    return QboSnapshot(
        company,
        copy.deepcopy(qbo.oauth.grants),
        dict(qbo.oauth.access),
        qbo.oauth.refreshes,
        dict(qbo._replays),
    )


def restore(qbo: QboEmulator, saved: QboSnapshot) -> None:
    """Put the emulator back as ``snapshot`` found it; the call counts start again at zero."""
    with qbo.company.lock:
        for name, value in saved.company.items():
            setattr(qbo.company, name, copy.deepcopy(value))
    qbo.oauth.grants = copy.deepcopy(saved.grants)
    qbo.oauth.access = dict(saved.access)
    qbo.oauth.refreshes = saved.refreshes
    qbo._replays = dict(saved.replays)
    qbo.stats.calls.clear()
    qbo.journal.clear()


# -- the prepared scenario ----------------------------------------------------------------------


@dataclass(slots=True)
class TwoWayScenario:
    """A running emulator, the prepared workspace to copy, and what the clean run passes."""

    qbo: QboEmulator
    template: Path
    saved: QboSnapshot
    accounts: dict[str, str]
    opportunities: dict[str, str]
    expected: dict[str, dict[str, Any]] = field(default_factory=dict)
    trace: tuple[str, ...] = ()
    clean: dict[str, Any] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {SECRET_ENV: self.qbo.client_secret}

    def fresh(self, folder: Path) -> Path:
        """A copy of the prepared workspace, and the emulator as it was then."""
        shutil.copytree(self.template, folder)
        restore(self.qbo, self.saved)
        return folder

    def sync(self, folder: Path, **options: Any) -> Outcome:
        return run_cli(folder, "sync", "--json", extra_env=self.env, **options)

    def writes(self) -> int:
        calls = self.qbo.stats.calls
        return calls.get("batch", 0) + calls.get("write", 0)


def _qbo_id(qbo: QboEmulator, entity: str, key: str, value: str) -> str:
    found = [e for e in qbo.company.all(entity) if str(e.get(key, "")).startswith(value)]
    assert len(found) == 1, found
    return str(found[0]["Id"])


def _edit(gm: GoldMineEmulator, qbo: QboEmulator, accounts: dict[str, str]) -> None:
    """What people do between the two syncs, on both sides."""
    gm.now += timedelta(hours=2)
    # QuickBooks: Ada's phone; GoldMine: Alan's name; Grace: phone in GoldMine, city in QuickBooks
    ada = _qbo_id(qbo, "Customer", "DisplayName", "Ada")
    qbo.change("Customer", ada, {"PrimaryPhone": {"FreeFormNumber": "+1 415 555 0142"}})
    gm.edit_contact(accounts["alan"], CONTACT="Alan M. Turing", LASTNAME="Turing")
    gm.edit_contact(accounts["grace"], PHONE1="(415) 555-0199")
    gm.edit_contact(accounts["edsger"], COMPANY="Dijkstra Algorithms BV")
    grace = _qbo_id(qbo, "Customer", "DisplayName", "Grace")
    address = dict(qbo.company.get("Customer", grace).get("BillAddr") or {})
    qbo.change("Customer", grace, {"BillAddr": {**address, "City": "Arlington"}})
    # a payment received in QuickBooks for Alan's invoice
    (invoice,) = [i for i in qbo.company.all("Invoice") if str(i["TotalAmt"]) == PAID_AMOUNT]
    qbo.seed(
        "Payment",
        {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": Decimal(PAID_AMOUNT),
            "TxnDate": PAID_ON,
            "Line": [
                {
                    "Amount": Decimal(PAID_AMOUNT),
                    "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )


@contextmanager
def two_way_scenario(root: Path) -> Iterator[TwoWayScenario]:
    """Prepare the workspace (first sync, then edits on both sides), trace a clean run of the
    command under test, and keep the emulator serving for the kill points."""
    template = root / "template"
    template.mkdir(parents=True)
    gm = GoldMineEmulator(f"sqlite:///{template / GOLDMINE_DB}")
    accounts = {
        key: gm.add_contact(name, company, emails=[email], PHONE1=phone, CITY="Springfield")
        for key, (name, company, email, phone) in CONTACTS.items()
    }
    opportunities = {}
    for day, (who, name, amount, won) in enumerate(DEALS, start=1):
        opportunities[name] = gm.add_opportunity(
            accounts[who],
            name,
            amount,
            status="Won" if won else "Open",
            closed_on=date(2026, 10, day) if won else None,
            closed_amount=amount if won else None,
        )
    clock = ScaledClock(start=datetime.now(UTC))  # QuickBooks' time is now: reads use CDC
    qbo = QboEmulator(clock=clock)
    qbo.seed("Item", {"Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    try:
        with EmulatorServer(qbo) as server:
            grant = qbo.authorise()
            (template / "ledgerlink.yaml").write_text(
                config_text(qbo, server, grant.refresh_token), encoding="utf-8"
            )
            scenario = TwoWayScenario(qbo, template, snapshot(qbo), accounts, opportunities)
            first = scenario.sync(template)
            assert first.returncode == 0, first
            # a minute later in QuickBooks: every later run's books cursor moves on (second
            # precision), so that every run passes the same crash points
            clock.origin -= 60
            _edit(gm, qbo, accounts)
            gm.dispose()
            scenario.saved = snapshot(qbo)
            scenario.expected = expected_contacts()
            clean = scenario.fresh(root / "clean")
            trace = root / "trace.txt"
            outcome = scenario.sync(clean, trace=trace)
            assert outcome.returncode == 0, outcome
            scenario.trace = tuple(trace.read_text(encoding="utf-8").split())
            # the reference is the never-killed run followed by the same further sync
            settled = scenario.sync(clean)
            assert settled.returncode == 0, settled
            scenario.clean = final_view(clean, qbo)
            yield scenario
    finally:
        gm.dispose()


def expected_contacts() -> dict[str, dict[str, Any]]:
    """The values each edited contact must have on both sides after the sync (display names)."""
    return {
        "Ada Lovelace": {"phone": "+1 415 555 0142"},
        "Alan M. Turing": {},
        "Grace Hopper": {"phone": "(415) 555-0199", "billing_address": {"city": "Arlington"}},
        "Edsger Dijkstra": {"company": "Dijkstra Algorithms BV"},
    }


# -- reading both systems -----------------------------------------------------------------------


def goldmine_customers(folder: Path) -> dict[str, dict[str, Any]]:
    """ACCOUNTNO -> the compared fields of the customer each GoldMine contact maps to."""
    gm = GoldMineEmulator(f"sqlite:///{folder / GOLDMINE_DB}", create=False)
    try:
        connector = connector_for(gm, folder)
        changes, _ = read_all(connector, "contacts")
        result = {}
        for change in changes:
            values = to_jsonable(contact_to_customer(change.load()))  # type: ignore[arg-type]
            result[change.key] = {name: values.get(name) for name in COMPARED}
        return result
    finally:
        gm.dispose()


def qbo_customers(qbo: QboEmulator) -> dict[str, dict[str, Any]]:
    """Id -> the compared fields of each QuickBooks customer."""
    result = {}
    for row in qbo.company.all("Customer"):
        customer, _ = customer_from_dto(CustomerDto.model_validate(row))
        values = to_jsonable(customer)
        result[str(row["Id"])] = {name: values.get(name) for name in COMPARED}
    return result


def goldmine_rows(folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables ledgerlink writes to, sorted: any write shows as a difference."""
    tables = goldmine_tables()
    engine = create_engine(f"sqlite:///{folder / GOLDMINE_DB}")
    try:
        with engine.connect() as conn:
            return {
                name: sorted(
                    (tuple(map(repr, row)) for row in conn.execute(getattr(tables, name).select())),
                )
                for name in GOLDMINE_TABLES
            }
    finally:
        engine.dispose()


def opportunities(folder: Path) -> dict[str, tuple[Any, Any, Any]]:
    """OPID -> (F1 invoice number, F2 paid status, F3 paid on) of every opportunity."""
    tables = goldmine_tables()
    engine = create_engine(f"sqlite:///{folder / GOLDMINE_DB}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(tables.opmgr.select().where(tables.opmgr.c.RECTYPE == "O"))
            return {row.OPID: (row.F1, row.F2, row.F3) for row in rows}
    finally:
        engine.dispose()


def links(folder: Path) -> dict[str, dict[str, tuple[str, dict[str, Any]]]]:
    """pipe -> source key -> (target id, the agreed snapshot)."""
    with StateStore.open(f"sqlite:///{folder / STATE_DB}") as store:
        result = {}
        for pipe in PIPES:
            keys = list(store.load_versions(pipe))
            found = store.get_links(pipe, keys)
            result[pipe] = {k: (v.target_id, dict(v.snapshot)) for k, v in found.items()}
        return result


def _invoice_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "stamp": read_stamp(row.get("PrivateNote"))[1],
        "DocNumber": row.get("DocNumber"),
        "customer": row["CustomerRef"]["value"],
        "TotalAmt": str(row.get("TotalAmt")),
        "Balance": str(row.get("Balance")),
    }


def final_view(folder: Path, qbo: QboEmulator) -> dict[str, Any]:
    """What a run leaves, without times and versions: both systems' values and the links."""
    return {
        "goldmine": goldmine_customers(folder),
        "opportunities": opportunities(folder),
        "qbo customers": qbo_customers(qbo),
        "qbo invoices": sorted(
            (_invoice_view(i) for i in qbo.company.all("Invoice")), key=lambda v: v["stamp"]
        ),
        "links": links(folder),
    }


# -- the checks -------------------------------------------------------------------------------


def agreement_problems(scenario: TwoWayScenario, folder: Path) -> list[str]:
    """Both systems agree on every compared field of every linked customer (as the engine
    compares them, ``merge.same``) and on every linked invoice's number and payment; the edits of
    both sides are there; the payment shows in GoldMine; no duplicate in QuickBooks."""
    problems: list[str] = []
    qbo = scenario.qbo
    crm, books = goldmine_customers(folder), qbo_customers(qbo)
    linked = links(folder)
    if sorted(linked["customers"]) != sorted(scenario.accounts.values()):
        problems.append(f"customer links: {sorted(linked['customers'])}")
    for key, (target, _) in linked["customers"].items():
        mine, theirs = crm.get(key), books.get(target)
        if mine is None or theirs is None:
            problems.append(f"customer {key} -> {target}: missing on a side")
            continue
        problems += [
            f"customer {mine['display_name']!r} {name}: GoldMine {mine[name]!r}, "
            f"QuickBooks {theirs[name]!r}"
            for name in COMPARED
            if not same(name, mine[name], theirs[name])
        ]
    by_name = {v["display_name"]: v for v in crm.values()}
    for name, wanted in scenario.expected.items():
        have = by_name.get(name)
        if have is None:
            problems.append(f"no GoldMine contact named {name!r}")
            continue
        for column, value in wanted.items():
            actual = have[column]
            if isinstance(value, dict):
                actual = {k: (actual or {}).get(k) for k in value}
            if not same(column, actual, value):
                problems.append(f"{name} {column}: {actual!r}, expected {value!r}")
    deals = opportunities(folder)
    invoices = {str(i["Id"]): i for i in qbo.company.all("Invoice")}
    won = {scenario.opportunities[name] for _, name, _, is_won in DEALS if is_won}
    if set(linked["invoices"]) != won:
        problems.append(f"invoice links: {sorted(linked['invoices'])}")
    for opid, (target, _) in linked["invoices"].items():
        invoice, (number, status, paid_on) = invoices.get(target), deals[opid]
        if invoice is None:
            problems.append(f"deal {opid}: its invoice {target} is not in QuickBooks")
            continue
        paid = Decimal(str(invoice["Balance"])) == 0
        if (number, status == "Paid") != (invoice.get("DocNumber"), paid):
            problems.append(
                f"deal {opid}: GoldMine F1-F3 {(number, status, paid_on)}, QuickBooks invoice "
                f"{invoice.get('DocNumber')} balance {invoice['Balance']}"
            )
    paid_deal = deals.get(scenario.opportunities[PAID_DEAL])
    if paid_deal is None or paid_deal[1:] != ("Paid", PAID_ON):
        problems.append(f"the payment is not in GoldMine: F1-F3 {paid_deal}")
    customers = qbo.company.all("Customer")
    counts = Counter(read_stamp(c.get("Notes"))[1] for c in customers)
    counts.update(read_stamp(i.get("PrivateNote"))[1] for i in invoices.values())
    problems += [f"duplicate in QuickBooks: {stamp} x{n}" for stamp, n in counts.items() if n > 1]
    if (len(customers), len(invoices)) != (len(CONTACTS), len(won)):
        problems.append(f"{len(customers)} customers, {len(invoices)} invoices in QuickBooks")
    return problems


def pending_intents(folder: Path) -> list[tuple[str, str, str]]:
    """(pipe, action, key) of every intent whose outcome the state does not know."""
    with StateStore.open(f"sqlite:///{folder / STATE_DB}") as store:
        return [(p, i.action, i.key) for p in PIPES for i in store.pending_intents(p)]


def state_problems(folder: Path) -> list[str]:
    """No pending intent, no open dead letter or conflict, the audit chain verifies."""
    problems = [
        f"pending intent {action} {pipe}/{key}" for pipe, action, key in pending_intents(folder)
    ]
    with StateStore.open(f"sqlite:///{folder / STATE_DB}") as store:
        verdict = store.verify_audit()
        if not verdict.ok:
            problems.append(f"audit chain broken: {verdict}")
        problems += [
            f"open dead letter {d.pipe}/{d.source_key}: {d.message}"
            for d in store.list_dead_letters()
        ]
        problems += [
            f"open conflict {c.pipe}/{c.source_key}.{c.field}" for c in store.list_conflicts()
        ]
    return problems


#: What a further sync must not do.
BUSY = (
    *("created", "updated", "linked", "deleted", "failed", "written_back", "settled", "conflicts"),
)


def recovery_problems(scenario: TwoWayScenario, folder: Path) -> list[str]:
    """After a kill: restart, check both systems and the state, then a sync that writes nothing
    anywhere, and the same end state as the run that was never killed (after the same sync)."""
    restarted = scenario.sync(folder)
    if restarted.returncode != 0:
        return [f"the restart's sync failed: {restarted}"]
    problems = agreement_problems(scenario, folder) + state_problems(folder)
    writes, rows = scenario.writes(), goldmine_rows(folder)
    again = scenario.sync(folder)
    if again.returncode != 0:
        return [*problems, f"a further sync failed: {again}"]
    for pipe in again.json()["pipes"]:
        busy = {k: pipe[k] for k in BUSY if pipe.get(k)}
        if busy:
            problems.append(f"a further sync was not a no-op: {pipe['name']} {busy}")
    if scenario.writes() != writes:
        problems.append(f"a further sync sent {scenario.writes() - writes} write(s) to QuickBooks")
    after = goldmine_rows(folder)
    problems += [f"a further sync changed GoldMine's {t}" for t in after if after[t] != rows[t]]
    problems += [f"after the further sync: {p}" for p in state_problems(folder)]
    problems += view_differences(final_view(folder, scenario.qbo), scenario.clean)
    return problems


def view_differences(view: dict[str, Any], clean: dict[str, Any]) -> list[str]:
    """Where a run's end state differs from the never-killed run's, value by value.

    The systems' values must be equal. The agreed snapshots (``links``) must say the same as
    ``merge.same`` reads them: which system's spelling of an agreed phone a snapshot keeps
    (``+1 415 555 0142`` or GoldMine's ``+14155550142``) depends on which side the run that
    settled it read last, and the engine treats both as one value.
    """
    problems: list[str] = []

    def compare(path: str, got: Any, want: Any, field: str, loose: bool) -> None:
        if isinstance(got, dict) and isinstance(want, dict):
            for key in sorted(set(got) | set(want), key=str):
                compare(f"{path}.{key}", got.get(key), want.get(key), str(key), loose)
        elif isinstance(got, list | tuple) and isinstance(want, list | tuple):
            if len(got) != len(want):
                problems.append(f"{path}: {got!r} != {want!r} (never killed)")
            for i, (a, b) in enumerate(zip(got, want, strict=False)):
                compare(f"{path}[{i}]", a, b, field, loose)
        elif not (same(field, got, want) if loose else got == want):
            problems.append(f"{path}: {got!r} != {want!r} (never killed)")

    for part in sorted(set(view) | set(clean)):
        compare(f"end state.{part}", view.get(part), clean.get(part), part, part == "links")
    return problems
