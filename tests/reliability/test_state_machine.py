"""CRM edits, hand edits of the books, syncs and faults in any order keep the five invariants.

A Hypothesis ``RuleBasedStateMachine`` drives the real engine in this process: the CSV connector
reads files the rules rewrite, ``execute_run`` writes a real Beancount ledger, and the state is a
real SQLite ``StateStore``: every layer a user's run goes through but the CLI and the process
(the SIGKILL harness covers those). The fakes would be faster, but the defects worth finding
here live in the real ledger writer (sparse updates, matching a person's account by e-mail) and
the real state. After each sync, with the model below as the oracle:

- I1 the books hold map(CRM) for every in-scope record, by the state's links (one-way pipes:
  what left the CRM stays in the books; fields a person changed stay until the CRM changes them);
- I2 no two customers share an e-mail or a ledgerlink id, no two invoices a ledgerlink id;
- I3/I4 a second sync changes nothing and rewrites no byte of the ledger;
- I5 the audit chain verifies;
- and nothing is lost silently: an in-scope record missing from the books has an open dead
  letter, and only records that were in trouble (invalid) have one; an outage stops the run
  without dead-lettering anything, and the next sync catches up.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from ledgerlink.canonical.records import TargetRecord
from ledgerlink.config.loader import load_config
from ledgerlink.connectors.base import (
    ConnectorContext,
    TargetCapabilities,
    WriteOutcome,
    WriteRequest,
)
from ledgerlink.connectors.beancount.config import BeancountConfig
from ledgerlink.connectors.beancount.connector import BeancountConnector
from ledgerlink.errors import RateLimitedError
from ledgerlink.planning.plan import ledgerlink_id
from ledgerlink.state.store import StateStore
from ledgerlink.sync.run import RunReport, Workspace, execute_run
from tests.reliability.books import Books, duplicates, read_books
from tests.reliability.crm import Contact, Crm, Deal, config_text

pytestmark = pytest.mark.slow

TODAY = date(2026, 6, 1)
LEDGER = "books.beancount"
COUNTS = ("created", "updated", "linked", "failed")
Key = tuple[str, str]  # (pipe, source key)


class FlakyBooks:
    """The real Beancount connector behind a switch: the next ``failures`` applies raise."""

    def __init__(self, inner: BeancountConnector, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.system = inner.system

    def writable_streams(self) -> tuple[str, ...]:
        return self.inner.writable_streams()

    def capabilities(self) -> TargetCapabilities:
        return self.inner.capabilities()

    def check(self) -> str:
        return self.inner.check()

    def read_existing(self, stream: str) -> Iterator[TargetRecord]:
        return self.inner.read_existing(stream)

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        if self.failures > 0:
            self.failures -= 1
            raise RateLimitedError("the books are busy (injected)", retry_after=0.0)
        return self.inner.apply(requests)


@dataclass(slots=True)
class HandMade:
    """A customer account a person opened; ``claimant`` is the CRM contact sharing its e-mail."""

    name: str
    email: str
    claimant: str | None = None


@dataclass(slots=True)
class Model:
    """What the books must show, beyond the CRM itself."""

    crm: Crm = field(default_factory=Crm)
    #: contact key -> the contact as of the last sync that wrote it (the engine diffs with it)
    synced: dict[str, Contact] = field(default_factory=dict)
    #: contact key -> field -> the value a person gave it in the books
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    #: accounts a person opened by hand that no sync has linked yet
    hand_made: dict[str, HandMade] = field(default_factory=dict)
    #: records allowed an open dead letter until the next clean ``dlq retry``
    troubled: set[Key] = field(default_factory=set)
    serial: int = 0

    def next(self) -> int:
        self.serial += 1
        return self.serial

    def bad_keys(self) -> set[Key]:
        return {(pipe, key) for pipe, keys in self.crm.invalid_keys().items() for key in keys}

    def in_scope_contacts(self) -> list[Contact]:
        return [c for c in self.crm.contacts.values() if c.valid]

    def in_scope_deals(self) -> list[Deal]:
        return [
            d
            for d in self.crm.deals.values()
            if d.won and d.valid and self.crm.contacts[d.contact].valid
        ]

    def expected(self, contact: Contact, name: str) -> str:
        value = getattr(contact, name)
        wanted = self.overrides.get(contact.id, {}).get(name, value)
        return str(wanted).lower() if name == "email" else str(wanted)

    def settle_claims(self, letters: set[Key], links: dict[str, str]) -> None:
        """After a sync: a contact linked to a person's account keeps that account's name."""
        for account, hand in list(self.model_claims()):
            key = hand.claimant
            if key is None or ("customers", key) in letters:
                continue
            if links.get(key) == account:
                self.overrides.setdefault(key, {})["name"] = hand.name
                del self.hand_made[account]
            else:  # the contact changed its e-mail before it was synced: nothing to link
                hand.claimant = None

    def model_claims(self) -> list[tuple[str, HandMade]]:
        return [(a, h) for a, h in self.hand_made.items() if h.claimant is not None]

    def written(self, letters: set[Key]) -> None:
        """After a sync: a field the CRM changed since the last write was written again."""
        for contact in self.in_scope_contacts():
            if ("customers", contact.id) in letters:
                continue
            before = self.synced.get(contact.id)
            own = self.overrides.get(contact.id, {})
            if before is not None:
                for name in [n for n in own if getattr(before, n) != getattr(contact, n)]:
                    del own[name]
            self.synced[contact.id] = contact


def _counts(report: RunReport) -> dict[str, dict[str, int]]:
    return {p.plan.name: {k: p.to_json(with_ops=False)[k] for k in COUNTS} for p in report.pipes}


class SyncMachine(RuleBasedStateMachine):
    """Rules: CRM edits, books edits, syncs (incremental, full, flaky, during an outage)."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="ledgerlink-sm-"))
        (self.folder / "ledgerlink.yaml").write_text(config_text(2, LEDGER), encoding="utf-8")
        self.model = Model()
        self.model.crm.write(self.folder)
        self.ledger = self.folder / LEDGER

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- running the engine --------------------------------------------------------------------

    def _run(
        self, command: Any = "sync", *, full: bool = False, failures: int = 0
    ) -> RunReport | None:
        loaded = load_config(self.folder / "ledgerlink.yaml")
        books = loaded.config.connections["books"]
        assert isinstance(books, BeancountConfig)
        target = FlakyBooks(
            BeancountConnector(books, ConnectorContext("books", self.folder), today=lambda: TODAY),
            failures,
        )
        workspace = Workspace(loaded, StateStore.open(loaded.state_url()), {"books": target})
        try:
            if command == "dlq retry":
                letters = workspace.store.list_dead_letters()
                if not letters:
                    return None  # the CLI says "Nothing to retry" and exits 0
                only: dict[str, set[str]] = {}
                for letter in letters:
                    only.setdefault(letter.pipe, set()).add(letter.source_key)
                return execute_run(
                    workspace,
                    command="dlq retry",
                    pipes=sorted(only),
                    only_keys={p: frozenset(k) for p, k in only.items()},
                    today=TODAY,
                )
            return execute_run(workspace, command="sync", full=full, today=TODAY)
        finally:
            workspace.close()

    def _store(self) -> StateStore:
        return StateStore.open(f"sqlite:///{self.folder / 'ledgerlink.db'}")

    def _sync_and_check(self, *, full: bool = False, failures: int = 0) -> None:
        self.model.troubled |= self.model.bad_keys()
        report = self._run(full=full, failures=failures)
        assert report is not None
        if failures >= 100:
            self._check_outage(report)
            report = self._run()  # the service is back: the next sync catches up
            assert report is not None
        assert report.status in ("ok", "partial"), report.to_json()
        if failures < 100 and not self.model.bad_keys():
            assert report.status == "ok", report.to_json()
        self._check(strict=False)
        self._check_second_sync_is_a_no_op()

    def _check_outage(self, report: RunReport) -> None:
        """An outage stops the pipes writing to the books (exit 3) without dead-lettering good
        records; what it did write is intact and on the audit trail."""
        assert report.status in ("ok", "partial", "failed"), report.to_json()
        for pipe in report.pipes:
            assert pipe.error is None or "not accepting requests" in str(pipe.error), pipe.error
        books = read_books(self.ledger)
        assert books.errors == []
        assert duplicates(books) == []
        with self._store() as store:
            assert store.verify_audit().ok
            letters = {(d.pipe, d.source_key) for d in store.list_dead_letters()}
        allowed = self.model.troubled | self.model.bad_keys()
        assert letters <= allowed, f"an outage dead-lettered {sorted(letters - allowed)}"

    def _check_second_sync_is_a_no_op(self) -> None:
        before = self.ledger.read_bytes() if self.ledger.exists() else b""
        again = self._run()
        assert again is not None
        assert all(not any(c.values()) for c in _counts(again).values()), again.to_json()
        assert (self.ledger.read_bytes() if self.ledger.exists() else b"") == before

    # -- the invariants ------------------------------------------------------------------------

    def _check(self, *, strict: bool) -> None:
        books = read_books(self.ledger)
        assert books.errors == []
        assert duplicates(books) == []
        with self._store() as store:
            verdict = store.verify_audit()
            assert verdict.ok, verdict
            letters = {(d.pipe, d.source_key) for d in store.list_dead_letters()}
            claimants = [h.claimant for _, h in self.model.model_claims() if h.claimant]
            contact_links = store.get_links("customers", [*self.model.crm.contacts, *claimants])
            deal_links = store.get_links("invoices", list(self.model.crm.deals))
        self.model.settle_claims(letters, {k: v.target_id for k, v in contact_links.items()})
        self.model.written(letters)
        allowed = self.model.bad_keys() if strict else self.model.troubled | self.model.bad_keys()
        assert letters <= allowed, f"dead letters {sorted(letters - allowed)} for good records"
        targets = Counter(
            link.target_id for key, link in contact_links.items() if key in self.model.crm.contacts
        )
        assert all(n == 1 for n in targets.values()), targets
        self._check_customers(books, letters, {k: v.target_id for k, v in contact_links.items()})
        self._check_invoices(books, letters, contact_links, set(deal_links))
        accounts = {c.account: c for c in books.customers}
        for account, hand in self.model.hand_made.items():  # not linked: left exactly as is
            found = accounts[account]
            assert (found.name, found.email) == (hand.name, hand.email.lower())
            assert accounts[account].ledgerlink_id == ""

    def _check_customers(self, books: Books, letters: set[Key], links: dict[str, str]) -> None:
        accounts = {c.account: c for c in books.customers}
        for contact in self.model.in_scope_contacts():
            if ("customers", contact.id) in letters:
                continue  # not lost: an open dead letter says why (checked against `allowed`)
            assert contact.id in links, f"contact {contact.id} is not in the books"
            found = accounts.get(links[contact.id])
            assert found is not None, f"{contact.id}: account {links[contact.id]} is gone"
            assert found.email == self.model.expected(contact, "email"), (contact, found)
            assert found.name == self.model.expected(contact, "name"), (contact, found)

    def _check_invoices(
        self, books: Books, letters: set[Key], contact_links: dict[str, Any], linked: set[str]
    ) -> None:
        invoices = books.invoice_ids()
        for deal in self.model.in_scope_deals():
            if ("invoices", deal.id) in letters:
                continue
            assert deal.id in linked, f"deal {deal.id} is not in the books"
            invoice = invoices.get(ledgerlink_id("invoices", deal.id))
            assert invoice is not None, f"deal {deal.id}: its invoice is gone"
            assert invoice.total == deal.total, (deal, invoice)
            assert invoice.account == contact_links[deal.contact].target_id, (deal, invoice)

    # -- CRM rules -----------------------------------------------------------------------------

    def _save_crm(self) -> None:
        self.model.crm.write(self.folder)

    @initialize()
    def a_synced_crm(self) -> None:
        """Every example starts from two customers and a won deal in the books."""
        for _ in range(2):
            self.add_contact(valid=True)
        first = sorted(self.model.crm.contacts)[0]
        self.model.crm.put_deal(Deal(f"D{self.model.next()}", "First deal", first, "100.00"))
        self._save_crm()
        self._sync_and_check()

    @rule(valid=st.booleans())
    def add_contact(self, valid: bool) -> None:
        n = self.model.next()
        email = f"p{n}@example.com" if valid else "not-an-email"
        self.model.crm.put_contact(Contact(f"K{n}", f"Person {n}", email, "+1 415 555 0100"))
        self._save_crm()

    @precondition(lambda self: bool(self.model.crm.contacts))
    @rule(data=st.data(), what=st.sampled_from(["phone", "email", "name", "city"]))
    def edit_contact(self, data: st.DataObject, what: str) -> None:
        """A change of one field; a new e-mail also fixes a contact whose e-mail was invalid."""
        self._edit_contact(data.draw(st.sampled_from(sorted(self.model.crm.contacts))), what)

    def _edit_contact(self, key: str, what: str) -> None:
        n = self.model.next()
        value = {
            "phone": f"+1 512 555 {n % 10000:04d}",
            "email": f"p{n}@example.com",
            "name": f"Person {key} v{n}",
            "city": f"City {n}",
        }[what]
        self.model.crm.edit_contact(key, **{what: value})
        self._save_crm()

    @precondition(
        lambda self: any(k in self.model.crm.contacts for k, o in self.model.overrides.items() if o)
    )
    @rule(data=st.data(), what=st.sampled_from(["phone", "email", "name", "city"]))
    def edit_a_contact_a_person_corrected(self, data: st.DataObject, what: str) -> None:
        """The CRM changes a contact whose e-mail or name a person set in the books: only the
        fields the CRM changed may be written, the person's correction of the others stays."""
        keys = sorted(
            k for k, o in self.model.overrides.items() if o and k in self.model.crm.contacts
        )
        self._edit_contact(data.draw(st.sampled_from(keys)), what)

    @precondition(lambda self: bool(self.model.crm.contacts))
    @rule(data=st.data())
    def remove_contact(self, data: st.DataObject) -> None:
        """The contact and its deals leave the CRM (the books keep them: one-way pipes)."""
        key = data.draw(st.sampled_from(sorted(self.model.crm.contacts)))
        del self.model.crm.contacts[key]
        for deal in [d for d in self.model.crm.deals.values() if d.contact == key]:
            del self.model.crm.deals[deal.id]
        self._save_crm()

    @precondition(lambda self: bool(self.model.crm.contacts))
    @rule(
        data=st.data(),
        cents=st.integers(1, 5_000_000),
        tax=st.sampled_from(["", "20", "5"]),
        kind=st.sampled_from(["won", "open", "unmappable"]),
    )
    def add_deal(self, data: st.DataObject, cents: int, tax: str, kind: str) -> None:
        """A deal; an ``unmappable`` one is won with a negative amount, which mapping refuses."""
        contact = data.draw(st.sampled_from(sorted(self.model.crm.contacts)))
        n = self.model.next()
        amount = f"{cents // 100}.{cents % 100:02d}"
        if kind == "unmappable":
            amount = f"-{amount}"
        stage = "Negotiation" if kind == "open" else "Won"
        self.model.crm.put_deal(Deal(f"D{n}", f"Deal {n}", contact, amount, stage, tax_rate=tax))
        self._save_crm()

    @precondition(lambda self: bool(self.model.crm.deals))
    @rule(data=st.data(), what=st.sampled_from(["amount", "win"]), cents=st.integers(1, 5_000_000))
    def edit_deal(self, data: st.DataObject, what: str, cents: int) -> None:
        """Win a deal, or give it a new (valid) amount, which also fixes an unmappable one."""
        key = data.draw(st.sampled_from(sorted(self.model.crm.deals)))
        if what == "win":
            self.model.crm.edit_deal(key, stage="Closed Won")
        else:
            self.model.crm.edit_deal(key, amount=f"{cents // 100}.{cents % 100:02d}")
        self._save_crm()

    # -- books rules (a person editing the ledger) ---------------------------------------------

    @precondition(lambda self: self.ledger.exists())
    @rule(shouting=st.booleans())
    def open_customer_by_hand(self, shouting: bool) -> None:
        """A person opens a customer account; ``shouting``: they type the e-mail in capitals."""
        n = self.model.next()
        account = f"Assets:Receivable:Hand-Made-{n}"
        email = f"hand{n}@hand.example"
        hand = HandMade(f"Hand Made {n}", email.upper() if shouting else email)
        with self.ledger.open("a", encoding="utf-8") as ledger:
            ledger.write(
                f'\n2000-01-01 open {account}\n  name: "{hand.name}"\n  email: "{hand.email}"\n'
            )
        self.model.hand_made[account] = hand

    @precondition(lambda self: any(h.claimant is None for h in self.model.hand_made.values()))
    @rule(data=st.data())
    def add_contact_a_person_already_entered(self, data: st.DataObject) -> None:
        """A CRM contact with the e-mail of a hand-made account: linked, never duplicated."""
        free = sorted(a for a, h in self.model.hand_made.items() if h.claimant is None)
        hand = self.model.hand_made[data.draw(st.sampled_from(free))]
        n = self.model.next()
        hand.claimant = f"K{n}"
        self.model.crm.put_contact(Contact(f"K{n}", f"Person {n}", hand.email))
        self._save_crm()

    @precondition(lambda self: bool(self.model.synced))
    @rule(data=st.data())
    def change_email_in_the_books(self, data: st.DataObject) -> None:
        """A person corrects a customer's e-mail in the ledger; ledgerlink must keep it."""
        candidates = sorted(k for k in self.model.synced if k in self.model.crm.contacts)
        if not candidates:
            return
        key = data.draw(st.sampled_from(candidates))
        with self._store() as store:
            link = store.get_links("customers", [key]).get(key)
        if link is None:
            return
        email = f"person{self.model.next()}@hand.example"
        text = self.ledger.read_text(encoding="utf-8")
        head = f" open {link.target_id}\n"
        start = text.index(head)
        end = text.find("\n\n", start)
        end = len(text) if end < 0 else end
        block = text[start:end]
        lines = [line for line in block.split("\n") if not line.strip().startswith("email:")]
        lines.insert(1, f'  email: "{email}"')
        self.ledger.write_text(text[:start] + "\n".join(lines) + text[end:], encoding="utf-8")
        self.model.overrides.setdefault(key, {})["email"] = email

    # -- syncs and faults ----------------------------------------------------------------------

    @rule()
    def sync(self) -> None:
        """The everyday run (first in Hypothesis's order of rules, so the most frequent)."""
        self._sync_and_check()

    @rule(full=st.booleans(), busy=st.booleans())
    def sync_with(self, full: bool, busy: bool) -> None:
        """``--full`` or incremental; ``busy``: the first write fails as transient, once."""
        self._sync_and_check(full=full, failures=1 if busy else 0)

    @rule(full=st.booleans())
    def sync_during_an_outage(self, full: bool) -> None:
        """Every write fails, retries included: the pipes stop, nothing is dead-lettered or lost,
        and the next sync writes everything once."""
        self._sync_and_check(full=full, failures=10**6)

    @rule(full=st.booleans())
    def dlq_retry_then_sync(self, full: bool) -> None:
        """The user's repair: replay the dead letters, then sync. Only bad records stay out."""
        self.model.troubled |= self.model.bad_keys()
        report = self._run("dlq retry")
        assert report is None or report.status in ("ok", "partial"), report.to_json()
        self._run(full=full)
        self._check(strict=True)
        self._check_second_sync_is_a_no_op()
        self.model.troubled = self.model.bad_keys()


SyncMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSyncMachine = SyncMachine.TestCase


def test_a_deal_waiting_for_its_contact_follows_it_into_the_books(tmp_path: Path) -> None:
    crm = Crm()
    crm.put_contact(Contact("C1", "Ada", "not-an-email"))
    crm.put_deal(Deal("D1", "Engine", "C1", "100.00"))
    crm.write(tmp_path)
    (tmp_path / "ledgerlink.yaml").write_text(config_text(5, LEDGER), encoding="utf-8")

    def sync() -> RunReport:
        loaded = load_config(tmp_path / "ledgerlink.yaml")
        workspace = Workspace.open(loaded)
        try:
            return execute_run(workspace, command="sync", today=TODAY)
        finally:
            workspace.close()

    assert sync().status == "partial"  # the contact fails, and so does its deal
    crm.edit_contact("C1", email="ada@example.com")
    crm.write(tmp_path)
    report = sync()
    assert ledgerlink_id("invoices", "D1") in read_books(tmp_path / LEDGER).invoice_ids(), (
        report.to_json()
    )
