"""The fuzzy tier: near-identical names become review candidates, different parties never do."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledgerlink.canonical.records import Customer, Invoice, TargetRecord
from ledgerlink.matching.fuzzy import DEFAULT_THRESHOLD, FuzzyIndex


def index(*customers: tuple[str, Customer]) -> FuzzyIndex:
    return FuzzyIndex.of(TargetRecord(tid, c) for tid, c in customers)


def ids(idx: FuzzyIndex, record: Customer) -> list[str]:
    return [c.target_id for c in idx.find(record)]


def test_a_typo_in_a_name_is_a_candidate() -> None:
    idx = index(("A", Customer("Acme Widgets")), ("B", Customer("Globex Corporation")))
    found = idx.find(Customer("Acme Widgtes"))
    assert [c.target_id for c in found] == ["A"]
    assert DEFAULT_THRESHOLD <= found[0].score < 100
    assert found[0].name == "Acme Widgets"
    assert "alike" in found[0].why


def test_word_order_does_not_matter() -> None:
    idx = index(("A", Customer("Widgets Acme")))
    assert idx.find(Customer("Acme Widgets"))[0].score == 100


def test_ltd_and_limited_compare_equal_even_with_a_typo() -> None:
    idx = index(("A", Customer("Initech Systems Ltd")))
    assert ids(idx, Customer("Initech Sistems Limited")) == ["A"]
    assert ids(idx, Customer("Initech Systems Inc.")) == ["A"]


def test_ampersand_and_and_are_the_same_word() -> None:
    idx = index(("A", Customer("Smith & Sons")))
    assert idx.find(Customer("Smith and Sons"))[0].score == 100


def test_person_name_in_any_order_with_middle_initial_and_title() -> None:
    idx = index(("A", Customer("Smith, John", kind="person")))
    for name in ("John Smith", "John Q. Smith", "Dr. John Smith"):
        found = idx.find(Customer(name, kind="person"))
        assert [c.target_id for c in found] == ["A"], name
        assert found[0].score == 100, name


def test_person_with_middle_name_in_the_books_matches_the_crm_name() -> None:
    # The books do not say it is a person; the initial gives it away.
    idx = index(("A", Customer("Ada K. Lovelace")))
    found = idx.find(Customer("Lovelace, Ada", kind="person"))
    assert [c.target_id for c in found] == ["A"]
    assert "person name" in found[0].why


def test_different_people_are_not_candidates() -> None:
    idx = index(
        ("A", Customer("John Smith", kind="person")),
        ("B", Customer("Mary Johnson", kind="person")),
    )
    assert ids(idx, Customer("Jane Smith", kind="person")) == []
    assert ids(idx, Customer("Mary Jones", kind="person")) == []


def test_a_name_inside_a_longer_one_is_not_a_candidate() -> None:
    idx = index(("A", Customer("Acme Widgets International Holdings")))
    assert ids(idx, Customer("Acme")) == []


def test_contradicting_email_excludes_a_candidate() -> None:
    idx = index(
        ("A", Customer("Jon Smith", email="jon@a.example")),
        ("B", Customer("Jon Smith")),
    )
    assert ids(idx, Customer("John Smith", email="john@b.example")) == ["B"]
    # the same e-mail on both sides is no contradiction
    assert ids(idx, Customer("John Smith", email="JON@a.example")) == ["A", "B"]


def test_contradicting_tax_id_excludes_a_candidate() -> None:
    idx = index(("A", Customer("Acme Widgets", tax_id="GB 111")))
    assert ids(idx, Customer("Acme Widgtes", tax_id="GB222")) == []
    assert ids(idx, Customer("Acme Widgtes", tax_id="gb111")) == ["A"]


def test_candidates_are_best_first_and_capped() -> None:
    customers = [(f"T{i}", Customer(f"Acme Widgets {'x' * i}")) for i in range(8)]
    idx = index(("exact-ish", Customer("Acme Widgts")), *customers)
    found = idx.find(Customer("Acme Widgets"))
    scores = [c.score for c in found]
    assert scores == sorted(scores, reverse=True)
    assert len(found) == 5
    assert found[0].target_id == "T0"


def test_threshold_is_respected() -> None:
    strict = FuzzyIndex(threshold=99)
    strict.add("A", Customer("Acme Widgets"))
    assert strict.find(Customer("Acme Widgtes")) == ()


def test_only_customers_take_part() -> None:
    idx = index(("A", Customer("Acme Widgets")))
    zero = Decimal(0)
    invoice = Invoice("x", "USD", date(2026, 1, 1), (), (), zero, zero, zero, number="Acme")
    assert idx.find(invoice) == ()
    assert len(idx) == 1
