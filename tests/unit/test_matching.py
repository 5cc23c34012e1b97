"""First-sync matching: existing customers are found, never duplicated, never confused."""

from __future__ import annotations

from ledgerlink.canonical.records import Customer, TargetRecord
from ledgerlink.matching.match import MatchIndex


def index(*customers: tuple[str, Customer]) -> MatchIndex:
    return MatchIndex.of(TargetRecord(tid, c) for tid, c in customers)


def test_email_matches_regardless_of_case() -> None:
    idx = index(("A", Customer("Someone", email="Ada@Example.com")))
    assert idx.find(Customer("Ada L.", email="ada@example.COM")).target_id == "A"


def test_company_suffixes_and_punctuation_do_not_matter() -> None:
    idx = index(("A", Customer("ACME Widgets Ltd.")))
    assert idx.find(Customer("Acme Widgets Limited")).target_id == "A"
    assert idx.find(Customer("Acme Widgets, Inc")).target_id == "A"


def test_tax_id_outranks_name() -> None:
    idx = index(("A", Customer("Foo", tax_id="GB 123 456 789")), ("B", Customer("Bar")))
    assert idx.find(Customer("Bar", tax_id="gb123456789")).target_id == "A"


def test_same_name_different_email_is_a_different_customer() -> None:
    idx = index(("A", Customer("John Smith", email="john@a.example")))
    match = idx.find(Customer("John Smith", email="john@b.example"))
    assert match.target_id is None
    assert not match.ambiguous


def test_two_candidates_are_ambiguous_not_guessed() -> None:
    idx = index(("A", Customer("Jane Doe")), ("B", Customer("JANE DOE")))
    match = idx.find(Customer("Jane Doe"))
    assert match.ambiguous
    assert match.candidates == ("A", "B")


def test_ledgerlink_stamp_finds_its_own_record() -> None:
    idx = MatchIndex.of([TargetRecord("T1", Customer("X"), ledgerlink_id="ll-1")])
    assert idx.find_ledgerlink("ll-1") == "T1"
    assert idx.find_ledgerlink("ll-2") is None
