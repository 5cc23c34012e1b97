"""The B2 faults end to end: CSV CRM → the QuickBooks emulator through ``execute_run``.

Every run builds a new connector (a new process, as far as the engine can tell) on a shared
manual clock: the emulator, the HTTP client's backoff, the executor's retries and the state's
dead-letter schedule all read and advance the same emulated time, so a 45-minute outage or a
12-hour retry delay costs no real time. The checks are what a user would notice: the books hold
map(CRM) with nothing twice and nothing lost (``qbo_differences``), the exit status, the
dead-letter queue, and how many calls QuickBooks received.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledgerlink.config.loader import load_config
from ledgerlink.connectors.quickbooks.connector import QuickBooksOnlineConnector
from ledgerlink.connectors.quickbooks.webhooks import parse_notification, verify_signature
from ledgerlink.state.records import DeadLetter
from ledgerlink.state.retry_schedule import MAX_AUTOMATIC_ATTEMPTS, RETRY_SCHEDULE
from ledgerlink.state.store import StateStore
from ledgerlink.sync.run import RunReport, Workspace, execute_run
from tests.emulators.qbo import ManualClock, QboEmulator, QboFault, notification
from tests.emulators.qbo.harness import MemoryTokenStore, make_connector
from tests.emulators.qbo.oauth import INTUIT_ROTATION_GRACE
from tests.reliability.crm import Contact, Crm, Deal
from tests.reliability.qbo_books import qbo_crm, qbo_differences

TODAY = date(2026, 6, 1)
OUTAGE = 45 * 60.0


def customer_named(name: str) -> Any:
    return lambda body: body.get("DisplayName") == name


@dataclass
class Rig:
    """A CSV CRM, the emulator and a state database, all on one manual clock."""

    folder: Path
    crm: Crm = field(default_factory=qbo_crm)
    clock: ManualClock = field(default_factory=ManualClock)
    tokens: MemoryTokenStore = field(default_factory=MemoryTokenStore)
    qbo: QboEmulator = field(init=False)

    def __post_init__(self) -> None:
        self.qbo = QboEmulator(clock=self.clock)
        self.qbo.seed(
            "Item", {"Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}}
        )
        self.grant = self.qbo.authorise()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.crm.write(self.folder)
        (self.folder / "ledgerlink.yaml").write_text(
            f"""\
version: 1
state: sqlite:///ledgerlink.db
connections:
  crm: {{type: csv, contacts: contacts.csv, deals: deals.csv}}
  books:
    type: quickbooks_online
    realm_id: "{self.grant.realm_id}"
    client_id: {self.grant.client_id}
    client_secret: {self.grant.client_secret}
    refresh_token: {self.grant.refresh_token}
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

    def connector(self) -> QuickBooksOnlineConnector:
        return make_connector(
            self.qbo, clock=self.clock, store=self.tokens, refresh_token=self.grant.refresh_token
        )

    def store(self) -> StateStore:
        return StateStore.open(f"sqlite:///{self.folder / 'ledgerlink.db'}", clock=self.clock.now)

    def run(
        self, command: str = "sync", only: dict[str, frozenset[str]] | None = None
    ) -> RunReport:
        loaded = load_config(self.folder / "ledgerlink.yaml")
        workspace = Workspace(loaded, self.store(), {"books": self.connector()})
        try:
            return execute_run(
                workspace,
                command=command,  # type: ignore[arg-type]
                pipes=sorted(only) if only else None,
                only_keys=only,
                today=TODAY,
                sleep=self.clock.sleep,
            )
        finally:
            workspace.close()

    def dlq_retry(self) -> RunReport:
        letters = self.letters()
        only: dict[str, set[str]] = {}
        for letter in letters:
            only.setdefault(letter.pipe, set()).add(letter.source_key)
        return self.run("dlq retry", {p: frozenset(k) for p, k in only.items()})

    def letters(self) -> list[DeadLetter]:
        with self.store() as store:
            return store.list_dead_letters()

    def pending(self) -> list[str]:
        with self.store() as store:
            return [i.key for p in ("customers", "invoices") for i in store.pending_intents(p)]

    def calls(self, kind: str = "") -> int:
        counts = self.qbo.stats.calls
        return counts.get(kind, 0) if kind else sum(counts.values())

    def requests(self) -> int:
        """Every API request QuickBooks received, answered or refused (429, 503)."""
        return self.qbo.limiters[self.qbo.realm_id].stats.admitted

    def writes(self) -> int:
        return self.calls("batch") + self.calls("write")

    def check_books(self) -> None:
        assert qbo_differences(self.qbo, self.crm) == []
        with self.store() as store:
            assert store.verify_audit().ok

    def check_quiet(self) -> None:
        """A further sync reads what it must and writes nothing."""
        writes = self.writes()
        again = self.run()
        assert again.status == "ok", again.to_json()
        assert all(not any(counts(again, p)) for p in PIPES), again.to_json()
        assert self.writes() == writes


PIPES = ("customers", "invoices")


def counts(report: RunReport, pipe: str) -> tuple[int, ...]:
    data = next(p for p in report.pipes if p.plan.name == pipe).plan.counts()
    return tuple(data[k] for k in ("created", "updated", "linked", "failed"))


def error_of(report: RunReport, pipe: str) -> str:
    found = next(p for p in report.pipes if p.plan.name == pipe)
    return "" if found.error is None else str(found.error)


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def synced_rig(tmp_path: Path) -> Rig:
    rig = Rig(tmp_path)
    assert rig.run().status == "ok"
    return rig


# -- R3: a 429 storm ---------------------------------------------------------------------------


def test_a_429_storm_is_waited_out_exactly_and_every_record_is_written_once(
    tmp_path: Path,
) -> None:
    calm = Rig(tmp_path / "calm")
    assert calm.run().status == "ok"

    stormy = Rig(tmp_path / "storm")
    stormy.qbo.faults.storm(12, retry_after=60.0, paths=("/batch",))
    report = stormy.run()

    assert report.status == "ok", report.to_json()
    stormy.check_books()
    assert stormy.qbo.faults.storm_left == 0  # all twelve 429s were served
    assert stormy.qbo.faults.storm_early == 0  # no retry came before Retry-After said
    assert stormy.clock.slept.count(60.0) == 12  # waited exactly as asked, once per 429
    assert stormy.requests() == calm.requests() + 12  # one call per 429: no amplification
    assert stormy.letters() == []


# -- R20: a 45-minute outage -------------------------------------------------------------------


def test_a_45_minute_outage_stops_the_run_and_the_next_sync_writes_everything_once(
    rig: Rig,
) -> None:
    rig.qbo.faults.outage(rig.clock.elapsed(), OUTAGE)
    report = rig.run()

    assert report.status == "failed"  # exit 3
    assert report.exit_code == 3
    message = error_of(report, "customers")
    assert "quickbooks_online" in message
    assert "ledgerlink sync" in message  # what to do
    assert error_of(report, "invoices") == message  # not tried against a service that is down
    assert rig.letters() == []  # the outage is not the records' fault
    assert rig.qbo.company.all("Customer") == []
    assert rig.clock.elapsed() < OUTAGE  # the engine gave up within minutes, not hours

    rig.clock.advance(OUTAGE)
    after = rig.run()
    assert after.status == "ok", after.to_json()
    rig.check_books()
    assert rig.pending() == []
    rig.check_quiet()


def test_an_outage_that_starts_at_the_first_write_leaves_intents_pending_and_loses_nothing(
    rig: Rig,
) -> None:
    rig.qbo.faults.outage(rig.clock.elapsed(), OUTAGE, paths=("/batch",))  # reads still work
    report = rig.run()

    assert report.status == "failed"
    assert "not accepting requests" in error_of(report, "customers")
    reads = rig.requests() - 5 * 4  # the executor's 5 tries of the client's 4, then stop
    assert reads == rig.calls("query")
    assert rig.calls("batch") == 0
    assert rig.pending()  # what was about to be written is remembered, not dead-lettered
    assert rig.letters() == []
    assert rig.qbo.company.all("Customer") == []

    rig.clock.advance(OUTAGE)
    assert rig.run().status == "ok"
    rig.check_books()
    assert rig.pending() == []
    rig.check_quiet()


# -- R1: the server committed, the answer was lost ---------------------------------------------


def test_a_batch_whose_every_answer_is_dropped_after_commit_is_written_once(rig: Rig) -> None:
    rig.qbo.faults.drop_after_commit = 4  # the client's every try of the first batch
    report = rig.run()

    assert report.status == "ok", report.to_json()
    assert rig.qbo.stats.dropped == 4
    assert rig.qbo.stats.replays >= 4  # the retries carried the same requestid
    rig.check_books()
    assert rig.pending() == []
    rig.check_quiet()


# -- stale SyncToken ---------------------------------------------------------------------------


def test_a_person_editing_the_customer_between_read_and_write_loses_nothing(
    tmp_path: Path,
) -> None:
    rig = synced_rig(tmp_path)
    key = sorted(rig.crm.contacts)[0]
    old = rig.crm.contacts[key].email
    target = next(
        c for c in rig.qbo.company.all("Customer") if c["PrimaryEmailAddr"]["Address"] == old
    )
    rig.crm.edit_contact(key, email="new@example.com")
    rig.crm.write(rig.folder)
    edited: list[str] = []

    def meanwhile(body: dict[str, Any]) -> bool:
        """The person saves their edit just as our update arrives (our SyncToken is stale)."""
        if body.get("Id") == target["Id"] and not edited:
            edited.append(target["Id"])
            rig.qbo.change("Customer", target["Id"], {"CompanyName": "Edited By Hand"})
        return False

    rig.qbo.faults.fail_item(meanwhile)
    report = rig.run()

    assert report.status == "ok", report.to_json()
    assert edited
    assert counts(report, "customers")[:2] == (0, 1)
    stored = rig.qbo.company.get("Customer", target["Id"])
    assert stored["PrimaryEmailAddr"]["Address"] == "new@example.com"
    assert stored["CompanyName"] == "Edited By Hand"  # sparse update: their edit survives
    assert stored["SyncToken"] == "2"  # the person's edit and ours, once each
    rig.check_books()
    rig.check_quiet()


# -- R6/R19: partial batches, poison records, the retry schedule --------------------------------


def test_one_refused_record_is_dead_lettered_and_replayed_by_itself_after_a_fix(
    rig: Rig,
) -> None:
    bad = sorted(rig.crm.contacts)[1]
    refusal = QboFault("6000", "A business validation error has occurred", "refused")
    rig.qbo.faults.fail_item(customer_named(rig.crm.contacts[bad].name), refusal)
    report = rig.run()

    assert report.status == "partial"  # exit 1
    letters = {d.source_key: d for d in rig.letters()}
    assert set(letters) == {bad} | {d.id for d in rig.crm.deals.values() if d.contact == bad}
    assert letters[bad].stage == "write"
    assert letters[bad].next_attempt_at == rig.clock.now() + RETRY_SCHEDULE[0]
    written = len(rig.qbo.company.all("Customer"))
    assert written == len(rig.crm.contacts) - 1  # the rest of the batch went in

    before = rig.writes()
    assert rig.run().status == "ok"  # not due yet: nothing replayed, nothing written
    assert rig.writes() == before

    rig.qbo.faults.failing_items.clear()  # the fix, made in QuickBooks
    rig.clock.advance(RETRY_SCHEDULE[0].total_seconds())
    report = rig.run()
    assert report.status == "ok", report.to_json()
    assert counts(report, "customers")[0] == 1
    rig.check_books()  # and its deals followed it in, in the same sync
    assert rig.letters() == []
    rig.check_quiet()


def test_a_poison_record_is_retried_on_the_schedule_then_parked_and_never_blocks_others(
    rig: Rig,
) -> None:
    poison = sorted(rig.crm.contacts)[0]
    rig.qbo.faults.fail_item(customer_named(rig.crm.contacts[poison].name))
    assert rig.run().status == "partial"
    attempts = [rig.letters()[0].attempts]

    for n, delay in enumerate(RETRY_SCHEDULE):
        rig.clock.advance(delay.total_seconds())
        newcomer = f"N{n}"
        rig.crm.put_contact(Contact(newcomer, f"Newcomer {n}", f"n{n}@example.com"))
        rig.crm.write(rig.folder)
        report = rig.run()
        assert report.status == "partial"  # the poison failed again ...
        assert counts(report, "customers")[0] == 1  # ... and the newcomer went in all the same
        attempts.append(next(d for d in rig.letters() if d.source_key == poison).attempts)
    assert attempts == list(range(1, MAX_AUTOMATIC_ATTEMPTS + 1))
    letter = next(d for d in rig.letters() if d.source_key == poison)
    assert letter.next_attempt_at is None  # parked

    writes = rig.writes()
    rig.clock.advance(timedelta(days=30).total_seconds())
    assert rig.run().status == "ok"  # parked: no more automatic tries
    assert rig.writes() == writes

    rig.qbo.faults.failing_items.clear()
    assert rig.dlq_retry().status == "ok"  # the person's replay after the fix
    rig.check_books()
    assert rig.letters() == []


def test_a_deal_waiting_for_its_refused_customer_follows_it_in(rig: Rig) -> None:
    contact = next(iter(d.contact for d in rig.crm.deals.values() if d.won))
    rig.qbo.faults.fail_item(customer_named(rig.crm.contacts[contact].name))
    rig.run()
    waiting = [d for d in rig.letters() if d.pipe == "invoices"]
    assert waiting
    assert all(d.kind == "dependency" and d.next_attempt_at is None for d in waiting)

    rig.qbo.faults.failing_items.clear()
    rig.clock.advance(RETRY_SCHEDULE[0].total_seconds())
    assert rig.run().status == "ok"
    rig.check_books()


# -- R7: duplicate and reordered webhooks ------------------------------------------------------


def deliver(rig: Rig, body: bytes, headers: dict[str, str]) -> RunReport | None:
    """What a webhook receiver would do: verify, parse, and let a sync re-read the truth.

    ledgerlink has no receiver yet (no ``serve``); a notification is only a hint that something
    changed, so the seam is "a delivery triggers a sync".
    """
    assert verify_signature(body, headers["intuit-signature"], rig.qbo.verifier_token)
    return rig.run() if parse_notification(body) else None


def test_duplicate_and_reordered_webhooks_write_each_real_change_once(tmp_path: Path) -> None:
    rig = synced_rig(tmp_path)
    company = rig.qbo.company
    mark = company.changes[-1].sequence
    echo = notification(company, rig.qbo.verifier_token, after=0)  # our own writes coming back

    key = sorted(rig.crm.contacts)[0]
    rig.crm.edit_contact(key, phone="+1 512 555 0001")
    rig.crm.write(rig.folder)
    first = rig.run()  # the scheduled sync writes change 1
    first_note = notification(company, rig.qbo.verifier_token, after=mark)
    mark = company.changes[-1].sequence
    rig.crm.edit_contact(key, phone="+1 512 555 0002")
    rig.crm.put_deal(Deal("D900", "Late deal", key, "10.00"))
    rig.crm.write(rig.folder)
    second = rig.run()  # ... and change 2
    second_note = notification(company, rig.qbo.verifier_token, after=mark)
    writes = rig.writes()

    # Delivered twice, out of order, plus the echo of everything: no write at all.
    for body, headers in (second_note, second_note, first_note, echo, first_note):
        report = deliver(rig, body, headers)
        assert report is not None
        assert report.status == "ok"
        assert all(not any(counts(report, p)) for p in PIPES), report.to_json()
    assert rig.writes() == writes
    assert counts(first, "customers")[1] == 1
    assert counts(second, "customers")[1] == 1
    assert counts(second, "invoices")[0] == 1
    rig.check_books()  # the latest phone, the new invoice once


# -- R11: a refresh token rotated just before a crash ------------------------------------------


def test_a_refresh_whose_rotated_token_was_never_stored_recovers_under_intuits_grace(
    rig: Rig,
) -> None:
    """The kill between the token endpoint's answer and the store (the SIGKILL harness does it
    to a real process): the next run only has the previous refresh token. Intuit keeps that one
    valid for 24 hours, so the run completes; a strictly rotating vendor refuses it (exit 3)."""
    lost = MemoryTokenStore()  # the dying process's store: its save never reached the disk
    make_connector(
        rig.qbo, clock=rig.clock, store=lost, refresh_token=rig.grant.refresh_token
    ).check()
    assert lost.saves == 1

    strict = rig.run()
    assert strict.status == "failed"
    assert "invalid_grant" in error_of(strict, "customers")
    assert rig.qbo.company.all("Customer") == []

    rig.qbo.oauth.rotation_grace = INTUIT_ROTATION_GRACE
    lenient = Rig(rig.folder.parent / "grace")
    lenient.qbo.oauth.rotation_grace = INTUIT_ROTATION_GRACE
    gone = MemoryTokenStore()
    make_connector(
        lenient.qbo, clock=lenient.clock, store=gone, refresh_token=lenient.grant.refresh_token
    ).check()
    report = lenient.run()
    assert report.status == "ok", report.to_json()
    assert "token:invalid_grant" not in lenient.qbo.journal
    lenient.check_books()
