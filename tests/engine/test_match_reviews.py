"""First-sync fuzzy matching through the engine: near-duplicates wait for a person, then sync."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ledgerlink.canonical.records import Contact, Customer
from ledgerlink.config.loader import parse_config
from ledgerlink.state.reviews import ReviewError
from ledgerlink.state.store import StateStore
from ledgerlink.sync.run import RunReport, Workspace, execute_run
from tests.fakes import FakeBooks, FakeCrm

CONFIG = """
version: 1
state: sqlite:///state.db
connections:
  crm: {type: beancount, path: unused-crm.beancount}
  books: {type: beancount, path: unused.beancount}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
"""
TODAY = date(2026, 11, 24)


def contact(name: str, email: str, **changes: object) -> Contact:
    return dataclasses.replace(Contact(display_name=name, emails=(email,)), **changes)


@pytest.fixture
def crm() -> FakeCrm:
    return FakeCrm(
        streams={
            "contacts": {
                "john@example.com": contact("John Smith", "john@example.com"),
                "ada@example.com": contact("Ada Lovelace", "ada@example.com"),
            }
        }
    )


@pytest.fixture
def books() -> FakeBooks:
    """The books already hold "Jon Smith" (typed by hand, no e-mail): John's near-duplicate."""
    fake = FakeBooks()
    fake.records["customers"]["hand-1"] = Customer("Jon Smith", kind="person")
    fake.records["customers"]["hand-2"] = Customer("Globex Corporation")
    return fake


@pytest.fixture
def workspace(
    tmp_path: Path, state_url: str, crm: FakeCrm, books: FakeBooks
) -> Iterator[Workspace]:
    loaded = parse_config(CONFIG.replace("sqlite:///state.db", state_url), tmp_path / "l.yaml", {})
    store = StateStore.open(loaded.state_url())
    yield Workspace(loaded, store, {"crm": crm, "books": books})
    store.close()


def sync(workspace: Workspace, **kwargs: object) -> RunReport:
    return execute_run(workspace, command="sync", today=TODAY, **kwargs)  # type: ignore[arg-type]


def counts(report: RunReport) -> dict[str, int]:
    return report.pipes[0].plan.counts()


def audit_actions(workspace: Workspace) -> list[str]:
    return [e.action for e in workspace.store.iter_audit() if e.action.startswith("match_")]


def test_a_near_duplicate_is_queued_not_created(workspace: Workspace, books: FakeBooks) -> None:
    report = sync(workspace)

    assert report.exit_code == 0
    assert counts(report)["review"] == 1
    assert counts(report)["created"] == 1  # Ada, who has no near-duplicate
    names = sorted(c.display_name for c in books.records["customers"].values())
    assert names == ["Ada Lovelace", "Globex Corporation", "Jon Smith"]
    assert workspace.store.get_links("customers", ["john@example.com"]) == {}
    (review,) = workspace.store.list_reviews()
    assert review.source_key == "john@example.com"
    assert review.record["display_name"] == "John Smith"
    assert [c["target_id"] for c in review.candidates] == ["hand-1"]
    assert review.candidates[0]["name"] == "Jon Smith"
    assert 85 <= review.candidates[0]["score"] < 100
    assert audit_actions(workspace) == ["match_queued"]


def test_a_queued_record_survives_resyncs_without_being_created(
    workspace: Workspace, books: FakeBooks, crm: FakeCrm
) -> None:
    sync(workspace)
    writes = books.writes
    full = sync(workspace, full=True)
    crm.streams["contacts"]["new@example.com"] = contact("Grace Hopper", "new@example.com")
    changed = sync(workspace)  # the source changed, so John is read again

    assert counts(full)["review"] == 1
    assert counts(changed)["review"] == 1
    assert counts(changed)["created"] == 1  # Grace only
    assert books.writes == writes + 1
    assert not any(c.display_name == "John Smith" for c in books.records["customers"].values())
    assert len(workspace.store.list_reviews()) == 1
    assert audit_actions(workspace) == ["match_queued"]  # re-queued unchanged: no new entry


def test_accept_links_to_the_candidate_without_a_write(
    workspace: Workspace, books: FakeBooks
) -> None:
    sync(workspace)
    writes = books.writes
    (review,) = workspace.store.list_reviews()

    decided = workspace.store.decide_review(review.id, "accept", by="tester")
    assert decided.target_id == "hand-1"
    assert workspace.store.list_reviews() == []
    report = sync(workspace)  # the CRM has not changed: the decision alone brings John in

    assert counts(report)["linked"] == 1
    assert counts(report)["created"] == 0
    assert books.writes == writes
    link = workspace.store.get_links("customers", ["john@example.com"])["john@example.com"]
    assert link.target_id == "hand-1"
    assert audit_actions(workspace) == ["match_queued", "match_accepted"]
    accepted = next(e for e in workspace.store.iter_audit() if e.action == "match_accepted")
    assert accepted.target_id == "hand-1"
    assert accepted.after is not None
    assert accepted.after["by"] == "tester"
    assert workspace.store.verify_audit().ok

    again = sync(workspace, full=True)
    assert counts(again)["linked"] == 0
    assert counts(again)["unchanged"] == 2
    assert books.writes == writes


def test_reject_creates_the_record_once(workspace: Workspace, books: FakeBooks) -> None:
    sync(workspace)
    writes = books.writes
    (review,) = workspace.store.list_reviews()

    workspace.store.decide_review(review.id, "reject")
    report = sync(workspace)
    again = sync(workspace, full=True)

    assert counts(report)["created"] == 1
    assert counts(report)["review"] == 0
    assert counts(again)["created"] == 0
    assert books.writes == writes + 1
    names = [c.display_name for c in books.records["customers"].values()]
    assert names.count("John Smith") == 1
    assert audit_actions(workspace) == ["match_queued", "match_rejected"]


def test_an_exact_match_still_links_automatically(workspace: Workspace, books: FakeBooks) -> None:
    books.records["customers"]["hand-3"] = Customer("SMITH, JOHN", email="John@Example.com")
    report = sync(workspace)

    assert counts(report)["linked"] == 1
    assert counts(report)["review"] == 0
    link = workspace.store.get_links("customers", ["john@example.com"])["john@example.com"]
    assert link.target_id == "hand-3"
    assert workspace.store.list_reviews() == []


def test_a_contradicting_email_means_a_new_customer(workspace: Workspace, books: FakeBooks) -> None:
    books.records["customers"]["hand-1"] = Customer("Jon Smith", email="jon@elsewhere.example")
    report = sync(workspace)

    assert counts(report)["review"] == 0
    assert counts(report)["created"] == 2


def test_plan_shows_the_review_but_stores_nothing(workspace: Workspace, books: FakeBooks) -> None:
    report = execute_run(workspace, command="plan", today=TODAY)

    (review,) = report.pipes[0].plan.reviews
    assert review.source_key == "john@example.com"
    assert [c.target_id for c in review.candidates] == ["hand-1"]
    assert report.to_json()["pipes"][0]["review"] == 1
    assert workspace.store.list_reviews() == []
    assert books.writes == 0


def test_decisions_that_cannot_be_taken_say_why(workspace: Workspace) -> None:
    sync(workspace)
    (review,) = workspace.store.list_reviews()

    with pytest.raises(ReviewError, match="no match review 999"):
        workspace.store.decide_review(999, "accept")
    with pytest.raises(ReviewError, match=r"'hand-2' is not a candidate .*offered: hand-1"):
        workspace.store.decide_review(review.id, "accept", target_id="hand-2")
    assert workspace.store.list_reviews() == [review]

    workspace.store.decide_review(review.id, "reject")
    workspace.store.decide_review(review.id, "accept")  # changed before any sync acted on it
    sync(workspace)
    with pytest.raises(ReviewError, match="already acted on it"):
        workspace.store.decide_review(review.id, "reject")
    assert audit_actions(workspace) == ["match_queued", "match_rejected", "match_accepted"]
