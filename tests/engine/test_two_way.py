"""Two-way pipes over fakes: changes flow both ways once; conflicts, echoes, payments."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledgerlink.canonical.records import Address, Contact, Deal
from ledgerlink.config.loader import parse_config
from ledgerlink.errors import ConfigError
from ledgerlink.state.store import StateStore
from ledgerlink.sync.conflicts import resolve_conflict
from ledgerlink.sync.run import RunReport, Workspace, execute_run
from tests.fakes import FakeCrm
from tests.fakes_two_way import Clock, TwoWayBooks, TwoWayCrm

TODAY = date(2026, 11, 24)

CONFIG = """
version: 1
state: {state}
connections:
  crm: {{type: beancount, path: unused-crm.beancount}}
  books: {{type: beancount, path: unused.beancount}}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
    direction: two-way
    conflict: {policy}
{fields}
  - name: invoices
    from: crm.deals
    to: books.invoices
    direction: two-way
"""


def contact(name: str, email: str, phone: str = "", **changes: Any) -> Contact:
    base = Contact(
        display_name=name,
        emails=(email, f"home.{email}"),
        phones=(phone,) if phone else (),
        addresses=(Address(street="1 Main St", city="Springfield"),),
    )
    return dataclasses.replace(base, **changes)


def won_deal(contact_key: str, amount: str) -> Deal:
    return Deal(
        title=f"Deal for {contact_key}",
        contact_key=contact_key,
        amount=Decimal(amount),
        currency="USD",
        status="won",
        close_date=date(2026, 11, 1),
    )


@dataclasses.dataclass
class Systems:
    crm: TwoWayCrm
    books: TwoWayBooks
    workspace: Workspace

    def sync(self) -> RunReport:
        return execute_run(self.workspace, command="sync", today=TODAY)

    def plan(self) -> RunReport:
        return execute_run(self.workspace, command="plan", today=TODAY)

    def customer_id(self, key: str) -> str:
        link = self.workspace.store.get_links("customers", [key])[key]
        return link.target_id

    def invoice_id(self, key: str) -> str:
        return self.workspace.store.get_links("invoices", [key])[key].target_id

    def writes(self) -> tuple[int, int]:
        """(books writes, CRM write-backs) so far."""
        return self.books.writes, self.crm.write_backs


def open_systems(
    tmp_path: Path, state_url: str, *, policy: str = "manual", fields: str = ""
) -> Iterator[Systems]:
    clock = Clock()
    crm = TwoWayCrm(
        clock=clock,
        streams={
            "contacts": {
                "ada": contact("Ada Lovelace", "ada@example.com", "+44 20 7946 0001"),
                "alan": contact("Alan Turing", "alan@example.com"),
            },
            "deals": {"D1": won_deal("ada", "1200.00")},
        },
    )
    books = TwoWayBooks(clock=clock)
    text = CONFIG.format(state=state_url, policy=policy, fields=fields)
    loaded = parse_config(text, tmp_path / "ledgerlink.yaml", {})
    store = StateStore.open(loaded.state_url())
    try:
        yield Systems(crm, books, Workspace(loaded, store, {"crm": crm, "books": books}))
    finally:
        store.close()


@pytest.fixture
def systems(tmp_path: Path, state_url: str) -> Iterator[Systems]:
    yield from open_systems(tmp_path, state_url)


@pytest.fixture
def synced(systems: Systems) -> Systems:
    """Both systems in agreement after a first sync."""
    report = systems.sync()
    assert report.exit_code == 0, report.to_json()
    return systems


def counts(report: RunReport, pipe: str = "customers") -> dict[str, Any]:
    return next(p.to_json(with_ops=False) for p in report.pipes if p.plan.name == pipe)


def test_a_phone_changed_in_the_books_reaches_the_crm_once_and_never_echoes(
    synced: Systems,
) -> None:
    synced.books.edit(synced.customer_id("ada"), phone="+44 20 7946 0999")
    before = synced.writes()

    report = synced.sync()

    assert report.exit_code == 0
    ada = synced.crm.streams["contacts"]["ada"]
    assert isinstance(ada, Contact)
    assert ada.phones == ("+44 20 7946 0999",)
    assert ada.emails == ("ada@example.com", "home.ada@example.com")  # the rest untouched
    assert synced.writes() == (before[0], before[1] + 1)  # one write back, none to the books
    assert counts(report)["written_back"] == 1
    for _ in range(2):  # the CRM's new version and the books' change feed: no ping-pong
        again = synced.sync()
        assert again.exit_code == 0
        assert synced.writes() == (before[0], before[1] + 1)


def test_a_crm_edit_updates_the_books_once_and_its_echo_writes_nothing_back(
    synced: Systems,
) -> None:
    synced.crm.edit("alan", display_name="Alan M. Turing")
    before = synced.writes()

    synced.sync()

    assert synced.books.customer(synced.customer_id("alan")).display_name == "Alan M. Turing"
    assert synced.writes() == (before[0] + 1, before[1])
    synced.sync()  # the books report ledgerlink's own write as a change
    synced.sync()
    assert synced.writes() == (before[0] + 1, before[1])


def test_different_fields_changed_on_each_side_are_both_kept(synced: Systems) -> None:
    synced.crm.edit("ada", display_name="Ada King")
    synced.books.edit(synced.customer_id("ada"), email="countess@example.com")

    report = synced.sync()

    assert report.exit_code == 0
    customer = synced.books.customer(synced.customer_id("ada"))
    ada = synced.crm.streams["contacts"]["ada"]
    assert isinstance(ada, Contact)
    assert (customer.display_name, customer.email) == ("Ada King", "countess@example.com")
    assert (ada.display_name, ada.email) == ("Ada King", "countess@example.com")
    settled = synced.writes()
    synced.sync()
    assert synced.writes() == settled


def test_the_same_field_changed_on_both_sides_waits_for_a_person(synced: Systems) -> None:
    target = synced.customer_id("ada")
    synced.crm.edit("ada", display_name="Ada (CRM)")
    synced.books.edit(target, display_name="Ada (books)")
    before = synced.writes()

    report = synced.sync()

    assert counts(report)["conflicts"] == 1
    assert report.exit_code == 0
    assert synced.writes() == before  # neither side written
    [conflict] = synced.workspace.store.list_conflicts()
    assert (conflict.field, conflict.crm, conflict.books) == (
        "display_name",
        "Ada (CRM)",
        "Ada (books)",
    )
    assert conflict.base == "Ada Lovelace"
    synced.sync()  # still queued, still nothing written, still one conflict
    assert synced.writes() == before
    assert len(synced.workspace.store.list_conflicts()) == 1

    resolve_conflict(synced.workspace, conflict.id, "books")

    ada = synced.crm.streams["contacts"]["ada"]
    assert isinstance(ada, Contact)
    assert ada.display_name == "Ada (books)"
    assert synced.books.customer(target).display_name == "Ada (books)"
    assert synced.workspace.store.list_conflicts() == []
    [closed] = synced.workspace.store.list_conflicts(include_resolved=True)
    assert (closed.resolution, closed.resolved_value) == ("books", "Ada (books)")
    actions = [e.action for e in synced.workspace.store.iter_audit()]
    assert "conflict_queued" in actions
    assert "conflict_resolved" in actions
    assert synced.workspace.store.verify_audit().ok
    after = synced.writes()
    synced.sync()
    assert synced.writes() == after


def test_a_queued_conflict_closes_itself_when_both_sides_agree(synced: Systems) -> None:
    target = synced.customer_id("ada")
    synced.crm.edit("ada", display_name="Ada (CRM)", notes="met at the fair")
    synced.books.edit(target, display_name="Ada (books)")
    synced.sync()
    assert len(synced.workspace.store.list_conflicts()) == 1
    assert synced.books.customer(target).display_name == "Ada (books)"  # not overwritten
    assert synced.books.customer(target).notes == "met at the fair"  # the rest went through

    synced.crm.edit("ada", display_name="Ada (books)")  # someone settles it by hand
    synced.sync()

    assert synced.workspace.store.list_conflicts() == []
    [closed] = synced.workspace.store.list_conflicts(include_resolved=True)
    assert closed.resolution == "agreed"


def test_resolving_twice_or_an_unknown_conflict_is_a_clear_error(synced: Systems) -> None:
    synced.crm.edit("ada", display_name="A")
    synced.books.edit(synced.customer_id("ada"), display_name="B")
    synced.sync()
    [conflict] = synced.workspace.store.list_conflicts()
    resolve_conflict(synced.workspace, conflict.id, "value", "Ada Byron")
    with pytest.raises(ConfigError, match="already resolved"):
        resolve_conflict(synced.workspace, conflict.id, "crm")
    with pytest.raises(ConfigError, match="no conflict 999"):
        resolve_conflict(synced.workspace, 999, "crm")
    assert synced.books.customer(synced.customer_id("ada")).display_name == "Ada Byron"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("source-wins", "Ada (CRM)"), ("target-wins", "Ada (books)"), ("newest-wins", "Ada (books)")],
)
def test_policies_settle_a_conflict_without_asking(
    tmp_path: Path, state_url: str, policy: str, expected: str
) -> None:
    for systems in open_systems(tmp_path, state_url, policy=policy):
        systems.sync()
        systems.crm.edit("ada", display_name="Ada (CRM)")  # the CRM first ...
        systems.books.edit(systems.customer_id("ada"), display_name="Ada (books)")  # then books

        report = systems.sync()

        ada = systems.crm.streams["contacts"]["ada"]
        assert isinstance(ada, Contact)
        assert ada.display_name == expected
        assert systems.books.customer(systems.customer_id("ada")).display_name == expected
        assert counts(report)["conflicts"] == 0
        assert counts(report)["settled"] == 1
        assert systems.workspace.store.list_conflicts() == []
        settled = [
            e for e in systems.workspace.store.iter_audit() if e.action == "conflict_settled"
        ]
        assert len(settled) == 1
        assert settled[0].after is not None
        assert settled[0].after["winner"] == ("crm" if expected == "Ada (CRM)" else "books")


def test_owned_fields_are_corrected_on_the_other_side(tmp_path: Path, state_url: str) -> None:
    fields = "    fields:\n      email: {owner: crm}\n      phone: {owner: books}"
    for systems in open_systems(tmp_path, state_url, fields=fields):
        systems.sync()
        target = systems.customer_id("ada")
        systems.books.edit(target, email="typo@example.com")  # the CRM owns e-mail
        systems.crm.edit("ada", phones=("+1 555 0100",))  # the books own the phone

        systems.sync()

        ada = systems.crm.streams["contacts"]["ada"]
        assert isinstance(ada, Contact)
        assert systems.books.customer(target).email == "ada@example.com"
        assert ada.phones == ("+44 20 7946 0001",)
        quiet = systems.writes()
        systems.sync()
        assert systems.writes() == quiet


def test_a_payment_in_the_books_flows_back_to_the_deal(synced: Systems) -> None:
    invoice = synced.invoice_id("D1")
    synced.books.pay(invoice, date(2026, 11, 20))

    report = synced.sync()

    assert report.exit_code == 0
    assert synced.crm.payments["D1"]["status"] == "paid"
    assert synced.crm.payments["D1"]["balance"] == Decimal("0.00")
    assert synced.crm.payments["D1"]["paid_on"] == date(2026, 11, 20)
    assert counts(report, "invoices")["written_back"] == 1
    before = synced.writes()
    synced.crm.streams["deals"]["D1"] = dataclasses.replace(
        won_deal("ada", "1200.00"), title="Renamed deal"
    )
    synced.sync()  # the deal's own change goes forward and leaves the payment state alone
    synced.sync()
    assert synced.writes()[1] == before[1]
    paid = synced.books.records["invoices"][invoice]
    assert getattr(paid, "status", None) == "paid"


def test_a_failed_write_back_is_dead_lettered_and_delivered_after_the_fix(
    synced: Systems,
) -> None:
    synced.crm.fail_write_back.add("ada")
    synced.books.edit(synced.customer_id("ada"), phone="+1 555 0199")

    report = synced.sync()

    assert report.exit_code == 1
    [letter] = synced.workspace.store.list_dead_letters("customers")
    assert letter.source_key == "ada"
    assert "locked" in letter.message
    synced.crm.fail_write_back.clear()
    synced.sync()  # the record waits for its replay; the books cursor stays back meanwhile
    assert synced.crm.write_backs == 0
    execute_run(synced.workspace, command="dlq retry", only_keys={"customers": frozenset({"ada"})})
    ada = synced.crm.streams["contacts"]["ada"]
    assert isinstance(ada, Contact)
    assert ada.phones == ("+1 555 0199",)
    assert synced.workspace.store.list_dead_letters("customers") == []


def test_a_plan_shows_write_backs_and_conflicts_without_writing(synced: Systems) -> None:
    synced.books.edit(synced.customer_id("alan"), phone="+1 555 0142")
    synced.crm.edit("ada", display_name="A1")
    synced.books.edit(synced.customer_id("ada"), display_name="A2")
    before = synced.writes()

    plan = synced.plan()

    data = counts(plan)
    assert data["written_back"] == 1
    assert data["conflicts"] == 1
    assert synced.writes() == before
    assert synced.workspace.store.list_conflicts() == []


def test_two_way_needs_a_crm_that_takes_changes_back(tmp_path: Path, state_url: str) -> None:
    loaded = parse_config(
        CONFIG.format(state=state_url, policy="manual", fields=""),
        tmp_path / "ledgerlink.yaml",
        {},
    )
    store = StateStore.open(loaded.state_url())
    crm = FakeCrm(streams={"contacts": {}, "deals": {}})
    workspace = Workspace(loaded, store, {"crm": crm, "books": TwoWayBooks()})
    try:
        with pytest.raises(ConfigError, match="cannot take contacts back"):
            execute_run(workspace, command="sync", today=TODAY)
    finally:
        store.close()


def test_owner_on_a_one_way_pipe_and_computed_two_way_fields_are_refused(tmp_path: Path) -> None:
    one_way = CONFIG.format(state="sqlite:///s.db", policy="manual", fields="").replace(
        "    direction: two-way\n    conflict: manual\n",
        "    fields:\n      email: {owner: books}\n",
        1,
    )
    with pytest.raises(ConfigError, match="only two-way pipes use"):
        parse_config(one_way, tmp_path / "ledgerlink.yaml", {})
    computed = CONFIG.format(
        state="sqlite:///s.db",
        policy="manual",
        fields="    fields:\n      email: {transform: [lower]}",
    )
    with pytest.raises(ConfigError, match="cannot be written back"):
        parse_config(computed, tmp_path / "ledgerlink.yaml", {})


class Crash(BaseException):
    """The process dies: nothing after this point runs (not an error ledgerlink could handle)."""


def test_a_crash_after_the_crm_took_a_write_back_neither_repeats_nor_loses_it(
    synced: Systems,
) -> None:
    synced.books.edit(synced.customer_id("ada"), phone="+1 555 0123")
    write_back = synced.crm.write_back

    def write_then_die(requests: Any) -> Any:
        write_back(requests)
        raise Crash

    synced.crm.write_back = write_then_die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        synced.sync()
    synced.crm.write_back = write_back  # type: ignore[method-assign]
    assert synced.crm.write_backs == 1
    assert synced.workspace.store.pending_intents("customers")  # the outcome was never recorded
    books_writes = synced.books.writes

    report = synced.sync()  # restart

    assert report.exit_code == 0
    ada = synced.crm.streams["contacts"]["ada"]
    assert isinstance(ada, Contact)
    assert ada.phones == ("+1 555 0123",)
    assert synced.crm.write_backs == 1  # the CRM already had it: not written again
    assert synced.books.writes == books_writes
    synced.sync()
    assert (synced.books.writes, synced.crm.write_backs) == (books_writes, 1)
    assert synced.workspace.store.pending_intents("customers") == []
    assert synced.workspace.store.verify_audit().ok


def test_a_crm_that_stays_down_stops_the_pipe_and_loses_nothing(synced: Systems) -> None:
    synced.books.edit(synced.customer_id("ada"), phone="+1 555 0177")
    synced.crm.down = 100  # every try of every write-back fails as transient

    report = execute_run(synced.workspace, command="sync", today=TODAY, sleep=lambda _s: None)

    assert report.exit_code == 3
    customers = next(p for p in report.pipes if p.plan.name == "customers")
    assert "not accepting requests" in str(customers.error)
    assert synced.workspace.store.list_dead_letters() == []  # not the record's fault
    synced.crm.down = 0
    assert synced.sync().exit_code == 0
    ada = synced.crm.streams["contacts"]["ada"]
    assert isinstance(ada, Contact)
    assert ada.phones == ("+1 555 0177",)
    assert synced.crm.write_backs == 1


def test_a_bad_crm_record_does_not_hold_back_the_books_changes(synced: Systems) -> None:
    synced.books.edit(synced.customer_id("alan"), phone="+1 555 0155")
    synced.crm.edit("ada", display_name="", given_name="", family_name="")  # unusable now
    cursor = synced.workspace.store.get_cursor("customers", "books:customers")

    report = synced.sync()

    assert report.exit_code == 1  # ada is dead-lettered ...
    assert synced.workspace.store.get_cursor("customers", "books:customers") != cursor
    alan = synced.crm.streams["contacts"]["alan"]
    assert isinstance(alan, Contact)
    assert alan.phones == ("+1 555 0155",)  # ... and alan's books change went through


def test_edits_on_both_sides_survive_a_refused_write_back_and_the_replay(synced: Systems) -> None:
    synced.books.edit(synced.customer_id("ada"), display_name="Ada one")
    synced.crm.edit("ada", phones=("+1 555 0101",))
    synced.crm.fail_write_back.add("ada")
    assert synced.sync().exit_code == 1
    synced.crm.fail_write_back.clear()
    before = synced.writes()
    synced.sync()  # the record waits in the dead-letter queue: both its sides wait together
    assert synced.writes() == before
    [letter] = synced.workspace.store.list_dead_letters("customers")

    report = execute_run(
        synced.workspace, command="dlq retry", only_keys={"customers": frozenset({"ada"})}
    )

    assert report.exit_code == 0, report.to_json()
    ada = synced.crm.streams["contacts"]["ada"]
    assert isinstance(ada, Contact)
    customer = synced.books.customer(synced.customer_id("ada"))
    assert (ada.display_name, ada.phones) == ("Ada one", ("+1 555 0101",))
    assert (customer.display_name, customer.phone) == ("Ada one", "+1 555 0101")
    assert synced.workspace.store.list_dead_letters("customers") == []
    assert letter.source_key == "ada"


def test_books_changes_to_unlinked_customers_are_counted_and_left_alone(synced: Systems) -> None:
    books = synced.books
    books.records["customers"]["cust-99"] = dataclasses.replace(
        books.customer(synced.customer_id("ada")), display_name="Walk-in customer"
    )
    books.edit("cust-99", phone="+1 555 0000")

    report = synced.sync()

    assert counts(report)["books_not_linked"] == 1
    assert counts(report).get("written_back", 0) == 0
    assert set(synced.crm.streams["contacts"]) == {"ada", "alan"}
