"""A Hypothesis state machine over a two-way pipe: CRM edits, books edits, syncs, faults, decisions.

After every clean sync:

- for every compared field, the CRM and the books agree, except fields whose conflict is queued
  for a person (and those hold each side's own value, untouched);
- a second sync writes nothing in either direction (no ping-pong, syncing twice = once);
- no customer is duplicated; the audit chain verifies.

Faults (a CRM that refuses write-backs, books that are down) may leave the systems apart for one
run; the next clean sync must bring them together with nothing lost.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledgerlink.canonical.records import Contact
from ledgerlink.canonical.serialise import to_jsonable
from ledgerlink.config.loader import parse_config
from ledgerlink.errors import TransientError
from ledgerlink.mapping.defaults import contact_to_customer
from ledgerlink.state.store import StateStore
from ledgerlink.sync.conflicts import resolve_conflict
from ledgerlink.sync.run import RunReport, Workspace, execute_run
from tests.fakes_two_way import Clock, TwoWayBooks, TwoWayCrm

KEYS = ("ada", "alan", "grace")
FIELDS = ("display_name", "phone", "notes")
VALUES = ("", "one", "two", "three")
CONFIG = """
version: 1
state: sqlite:///{db}
connections:
  crm: {{type: beancount, path: unused-crm.beancount}}
  books: {{type: beancount, path: unused.beancount}}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
    direction: two-way
    conflict: manual
"""


def _no_sleep(_seconds: float) -> None:
    return None


class TwoWayMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        base = Path(self._dir.name)
        clock = Clock()
        self.crm = TwoWayCrm(
            clock=clock,
            streams={
                "contacts": {
                    key: Contact(display_name=key.title(), emails=(f"{key}@example.com",))
                    for key in KEYS
                }
            },
        )
        self.books = TwoWayBooks(clock=clock)
        loaded = parse_config(
            CONFIG.format(db=(base / "state.db").as_posix()), base / "ledgerlink.yaml", {}
        )
        self.store = StateStore.open(loaded.state_url())
        self.workspace = Workspace(loaded, self.store, {"crm": self.crm, "books": self.books})

    def teardown(self) -> None:
        self.store.close()
        self._dir.cleanup()

    # -- helpers -------------------------------------------------------------------------------

    def _sync(self) -> RunReport:
        return execute_run(self.workspace, command="sync", sleep=_no_sleep)

    def _target(self, key: str) -> str | None:
        link = self.store.get_links("customers", [key]).get(key)
        return link.target_id if link else None

    def _crm_view(self, key: str) -> dict[str, Any]:
        record = self.crm.streams["contacts"][key]
        assert isinstance(record, Contact)
        result: dict[str, Any] = to_jsonable(contact_to_customer(record))
        return result

    def _check_agreement(self, *, strict: bool = False) -> None:
        """Both systems agree, but for queued conflicts and (unless ``strict``) records waiting
        in the dead-letter queue for their automatic retry or `dlq retry`."""
        waiting = {(c.source_key, c.field) for c in self.store.list_conflicts("customers")}
        troubled = {d.source_key for d in self.store.list_dead_letters("customers")}
        assert not (strict and troubled), troubled
        for key in KEYS:
            target = self._target(key)
            assert target is not None, f"{key} never reached the books"
            if key in troubled:
                continue
            books = to_jsonable(self.books.customer(target))
            crm = self._crm_view(key)
            for name in FIELDS:
                if (key, name) in waiting:
                    continue
                assert crm[name] == books[name], (key, name, crm[name], books[name])
        assert len(self.books.records["customers"]) == len(KEYS)  # no duplicate
        assert self.store.verify_audit().ok

    def _clean_sync_and_check(self) -> None:
        report = self._sync()
        assert report.status == "ok" or self.store.list_dead_letters(), report.to_json()
        self._check_agreement()
        writes = (self.books.writes, self.crm.write_backs)
        again = self._sync()
        assert again.status == report.status, again.to_json()
        assert (self.books.writes, self.crm.write_backs) == writes, "a no-op sync wrote"

    # -- rules ---------------------------------------------------------------------------------

    @initialize()
    def first_sync(self) -> None:
        self._clean_sync_and_check()

    @rule(key=st.sampled_from(KEYS), name=st.sampled_from(FIELDS), value=st.sampled_from(VALUES))
    def edit_in_the_crm(self, key: str, name: str, value: str) -> None:
        if name == "phone":
            self.crm.edit(key, phones=(f"+1 555 01{VALUES.index(value):02d}",) if value else ())
        elif name == "display_name":
            self.crm.edit(key, display_name=f"{key.title()} {value}".strip())
        else:
            self.crm.edit(key, notes=value)

    @rule(key=st.sampled_from(KEYS), name=st.sampled_from(FIELDS), value=st.sampled_from(VALUES))
    def edit_in_the_books(self, key: str, name: str, value: str) -> None:
        target = self._target(key)
        assert target is not None
        if name == "phone":
            self.books.edit(target, phone=f"+1 555 01{VALUES.index(value):02d}" if value else "")
        elif name == "display_name":
            self.books.edit(target, display_name=f"{key.title()} {value}".strip())
        else:
            self.books.edit(target, notes=value)

    @rule()
    def sync(self) -> None:
        self._clean_sync_and_check()

    @rule(key=st.sampled_from(KEYS))
    def sync_while_the_crm_refuses_one_record(self, key: str) -> None:
        self.crm.fail_write_back.add(key)
        try:
            report = self._sync()
        finally:
            self.crm.fail_write_back.clear()
        assert report.status in ("ok", "partial"), report.to_json()
        assert self.store.verify_audit().ok

    @rule()
    def sync_while_the_books_are_down(self) -> None:
        self.books.raise_on_apply = [TransientError("503 Service Unavailable")] * 50
        try:
            self._sync()
        finally:
            self.books.raise_on_apply = []
        assert self.store.verify_audit().ok

    @rule()
    def sync_while_the_crm_is_restarting(self) -> None:
        self.crm.down = 50
        try:
            self._sync()
        finally:
            self.crm.down = 0
        assert self.store.verify_audit().ok

    @rule()
    def dlq_retry_then_sync(self) -> None:
        """The user's repair (or the automatic retry, when due): afterwards nothing waits."""
        letters = self.store.list_dead_letters("customers")
        if letters:
            keys = {"customers": frozenset(d.source_key for d in letters)}
            report = execute_run(
                self.workspace, command="dlq retry", only_keys=keys, sleep=_no_sleep
            )
            assert report.status == "ok", report.to_json()
        self._clean_sync_and_check()
        self._check_agreement(strict=True)

    @rule(data=st.data(), keep=st.sampled_from(["crm", "books"]))
    def a_person_resolves_a_conflict(self, data: st.DataObject, keep: str) -> None:
        waiting = self.store.list_conflicts("customers")
        if not waiting:
            return
        conflict = data.draw(st.sampled_from(waiting))
        resolve_conflict(self.workspace, conflict.id, "crm" if keep == "crm" else "books")
        assert (
            self._crm_view(conflict.source_key)[conflict.field]
            == to_jsonable(self.books.customer(conflict.target_id))[conflict.field]
        )

    @invariant()
    def the_audit_chain_verifies(self) -> None:
        assert self.store.verify_audit().ok


TwoWayMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestTwoWayMachine = TwoWayMachine.TestCase
