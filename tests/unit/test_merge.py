"""The three-way merge of two-way pipes, field by field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledgerlink.planning.merge import Side, merge, same

BASE = {"display_name": "Ada", "phone": "+1 415 555 0142", "email": "ada@example.com", "kind": "x"}
SHARED = {"display_name": "shared", "phone": "shared", "email": "shared"}
EARLY = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LATE = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def side(at: datetime | None = None, **values: str) -> Side:
    return Side({**BASE, **values}, at)


def test_a_change_on_one_side_goes_to_the_other() -> None:
    result = merge(BASE, None, side(phone="+1 415 555 0199"), SHARED, "manual")
    assert result.to_crm == {"phone": ("+1 415 555 0142", "+1 415 555 0199")}
    assert result.to_books == {}
    assert result.merged["phone"] == "+1 415 555 0199"


def test_the_same_change_on_both_sides_is_agreement_not_a_conflict() -> None:
    result = merge(BASE, side(display_name="Ada K"), side(display_name="Ada  K"), SHARED, "manual")
    assert (result.to_books, result.to_crm, result.conflicts) == ({}, {}, [])


@pytest.mark.parametrize(
    ("policy", "crm_at", "books_at", "expected"),
    [
        ("source-wins", None, None, "CRM"),
        ("target-wins", None, None, "Books"),
        ("newest-wins", EARLY, LATE, "Books"),
        ("newest-wins", LATE, EARLY, "CRM"),
    ],
)
def test_policies(
    policy: str, crm_at: datetime | None, books_at: datetime | None, expected: str
) -> None:
    result = merge(
        BASE,
        side(crm_at, display_name="CRM"),
        side(books_at, display_name="Books"),
        SHARED,
        policy,  # type: ignore[arg-type]
    )
    assert result.merged["display_name"] == expected
    assert [winner for _, winner in result.settled] == ["crm" if expected == "CRM" else "books"]
    assert result.conflicts == []


@pytest.mark.parametrize("times", [(None, LATE), (EARLY, None), (EARLY, EARLY)])
def test_newest_wins_without_two_different_clocks_asks_a_person(
    times: tuple[datetime | None, datetime | None],
) -> None:
    crm_at, books_at = times
    result = merge(
        BASE,
        side(crm_at, display_name="A"),
        side(books_at, display_name="B"),
        SHARED,
        "newest-wins",
    )
    assert [c.field for c in result.conflicts] == ["display_name"]
    assert "display_name" not in result.to_books
    assert "display_name" not in result.to_crm
    assert result.merged["display_name"] == "B"  # whole-record writes keep the books' value


def test_owners_win_and_correct_the_other_side() -> None:
    owners = {**SHARED, "email": "crm", "phone": "books"}
    result = merge(
        BASE,
        side(phone="+44 1"),
        side(email="typo@example.com"),
        owners,  # type: ignore[arg-type]
        "manual",
    )
    assert result.to_books == {"email": ("typo@example.com", "ada@example.com")}
    assert result.to_crm == {"phone": ("+44 1", "+1 415 555 0142")}


def test_fields_not_compared_follow_the_crm_and_ignore_the_books() -> None:
    result = merge(BASE, side(kind="y"), side(kind="z"), SHARED, "manual")
    assert result.to_books == {"kind": ("x", "y")}
    assert result.to_crm == {}


def test_a_waiting_conflict_holds_until_both_sides_agree() -> None:
    waiting = {"display_name": "Ada"}
    held = merge(
        BASE, side(display_name="A"), side(display_name="B"), SHARED, "source-wins", waiting=waiting
    )
    assert [c.field for c in held.conflicts] == ["display_name"]
    assert held.to_books == held.to_crm == {}
    agreed = merge(
        BASE, side(display_name="B"), side(display_name="B"), SHARED, "manual", waiting=waiting
    )
    assert agreed.agreed == ["display_name"]
    assert agreed.conflicts == []


@pytest.mark.parametrize(
    ("name", "a", "b", "expected"),
    [
        ("phone", "+1 415 555 0142", "+14155550142", True),
        ("phone", "(415) 555-0142", "+14155550142", True),
        ("phone", "+44 20 7946 0001", "+1 20 7946 0001", False),
        ("phone", "555 0142", "555 0143", False),
        ("phone", "12", "912", False),
        ("email", "Ada@Example.COM ", "ada@example.com", True),
        ("display_name", "Ada  King", "Ada King", True),
        ("display_name", "Ada", "ada", False),
        ("notes", "", None, True),
        ("billing_address", {"city": "X", "street": ""}, {"city": "X"}, True),
        ("credit_limit", "10.00", "10.0", True),
        ("credit_limit", "10.00", "10.01", False),
    ],
)
def test_what_counts_as_the_same_value(name: str, a: object, b: object, expected: bool) -> None:
    assert same(name, a, b) is expected
