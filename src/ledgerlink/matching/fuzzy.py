"""The fuzzy tier of first-sync matching: customers whose names are nearly the same, for review.

Exact and normalised keys (``match.py``) decide on their own. What is left is a name that is
*almost* one the books hold ("Jon Smith", "Smith, John Q.", "Acme Widgtes Limited"): that is never
linked automatically, it becomes a candidate a person accepts or rejects (``ledgerlink matches``).

How a name is compared:

- both names get ``name_key`` (accents folded, case and punctuation dropped, trailing company
  suffixes such as Ltd/Limited/Inc removed, as in the exact tier), ``&`` reads as ``and``, and the
  words are sorted, so word order never matters ("Smith, John" is "John Smith");
- a person's name is also parsed with ``nameparser`` and compared as first + last name, so titles,
  middle names and initials ("Dr. John Q. Smith") do not lower the score;
- the score is rapidfuzz's ``ratio`` (normalised Indel similarity, 0-100) of the sorted words,
  which is exactly ``fuzz.token_sort_ratio`` with the sorting done once per record instead of once
  per comparison. ``WRatio`` and ``token_set_ratio`` were rejected: they score a name contained
  in a longer one ("Smith" in "Smithson Holdings", "Acme" in "Acme Widgets") near 100, which would
  fill the review queue with different parties. ``ratio`` of sorted words charges every missing or
  extra letter, so one typo in a ten-letter name costs about 5 points and a different first name
  ("Jane Smith" for "John Smith") about 20.

``DEFAULT_THRESHOLD`` (85) keeps one or two typos in a name of ordinary length, and keeps out
names that differ by a whole short word. A candidate whose tax id or e-mail contradicts the
record's (both have one, and they differ) is never offered: those are two parties.

Blocking keeps lookups far from O(n²): every word of a name files the record under its first three
letters and its last three, and a lookup scores only records sharing one of those keys. A typo
leaves at least one of them intact in any word of four letters or more.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nameparser import HumanName
from rapidfuzz import fuzz, process

from ledgerlink.canonical.normalise import email_key, name_key, tax_id_key
from ledgerlink.canonical.records import Customer, Record, TargetRecord

#: Lowest score (0-100) that makes an existing customer a review candidate.
DEFAULT_THRESHOLD = 85.0
#: Most candidates offered for one record, best first.
MAX_CANDIDATES = 5
#: Words too common to block on: they would put most companies in one block.
_NO_BLOCK = frozenset({"and", "the", "of", "for", "de", "la", "le", "von", "van"})


@dataclass(frozen=True, slots=True)
class FuzzyCandidate:
    """An existing target record whose name is close to the record's: a guess for a person."""

    target_id: str
    name: str
    score: float
    why: str

    def to_json(self) -> dict[str, Any]:
        """The candidate as plain JSON (stored with the review, shown by ``matches list``)."""
        return {
            "target_id": self.target_id,
            "name": self.name,
            "score": self.score,
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class _Names:
    """The comparison forms of one customer's name and its strong keys."""

    plain: str
    person: str | None
    tax_id: str
    emails: frozenset[str]


@dataclass(slots=True)
class FuzzyIndex:
    """Existing customers by blocks of their name's words; ``find`` scores only a few of them."""

    threshold: float = DEFAULT_THRESHOLD
    limit: int = MAX_CANDIDATES
    _ids: list[str] = field(default_factory=list)
    _display: list[str] = field(default_factory=list)
    _names: list[_Names] = field(default_factory=list)
    _plains: list[str] = field(default_factory=list)
    _persons: list[str] = field(default_factory=list)
    _blocks: dict[str, array[int]] = field(default_factory=dict)
    _parsed: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def of(
        cls, records: Iterable[TargetRecord], threshold: float = DEFAULT_THRESHOLD
    ) -> FuzzyIndex:
        """Index the customers the target already holds."""
        index = cls(threshold=threshold)
        for existing in records:
            index.add(existing.target_id, existing.record)
        return index

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, target_id: str, record: Record) -> None:
        """Make an existing customer a possible candidate (other records are ignored)."""
        if not isinstance(record, Customer):
            return
        names = self._names_of(record)
        if not names.plain:
            return
        position = len(self._ids)
        self._ids.append(target_id)
        self._display.append(record.display_name)
        self._names.append(names)
        self._plains.append(names.plain)
        self._persons.append(names.person or names.plain)
        for key in _block_keys(names):
            block = self._blocks.get(key)
            if block is None:
                self._blocks[key] = array("l", (position,))
            else:
                block.append(position)

    def find(self, record: Record) -> tuple[FuzzyCandidate, ...]:
        """Existing customers whose names score at least ``threshold``, best first.

        Candidates whose tax id or e-mail contradicts the record's are left out.
        """
        if not isinstance(record, Customer):
            return ()
        mine = self._names_of(record)
        if not mine.plain:
            return ()
        members = self._block_members(mine)
        plain = self._scores(mine.plain, members, self._plains)
        person: dict[int, float] = {}
        if mine.person:
            person = self._scores(mine.person, members, self._persons)
        else:
            with_person = [p for p in members if self._names[p].person]
            person = self._scores(mine.plain, with_person, self._persons)
        scored: list[FuzzyCandidate] = []
        for position in plain.keys() | person.keys():
            if _contradicts(mine, self._names[position]):
                continue
            scored.append(
                self._candidate(position, plain.get(position, 0), person.get(position, 0))
            )
        scored.sort(key=lambda c: (-c.score, c.target_id))
        return tuple(scored[: self.limit])

    def _block_members(self, names: _Names) -> list[int]:
        blocks = [self._blocks[key] for key in _block_keys(names) if key in self._blocks]
        return sorted(set().union(*blocks)) if blocks else []

    def _scores(self, query: str, members: list[int], forms: list[str]) -> dict[int, float]:
        """Scores of ``members`` at or above the threshold, computed by rapidfuzz in one call."""
        if not members:
            return {}
        choices = [forms[p] for p in members]
        found = process.extract(
            query, choices, scorer=fuzz.ratio, score_cutoff=self.threshold, limit=None
        )
        return {members[i]: score for _, score, i in found}

    def _candidate(self, position: int, plain: float, person: float) -> FuzzyCandidate:
        if person > plain:
            why = f"person name {person:.0f}% alike (first and last name, any order)"
        else:
            why = f"name {plain:.0f}% alike (case, word order, company suffix ignored)"
        score = round(max(plain, person), 1)
        return FuzzyCandidate(self._ids[position], self._display[position], score, why)

    def _names_of(self, customer: Customer) -> _Names:
        emails = frozenset(email_key(e) for e in (customer.email, *customer.other_emails) if e)
        return _Names(
            plain=_sorted_words(customer.display_name),
            person=self._person_form(customer),
            tax_id=tax_id_key(customer.tax_id) if customer.tax_id else "",
            emails=emails,
        )

    def _person_form(self, customer: Customer) -> str | None:
        """First and last name, sorted, for names where parsing changes something.

        Parsing costs ~0.1 ms a name, so it is done only when it can matter: a person's name (or
        a name with a comma or an initial) of three words or more; "John Smith" needs none.
        """
        name = customer.display_name
        words = name.split()
        looks_personal = (
            customer.kind == "person"
            or bool(customer.given_name or customer.family_name)
            or "," in name
            or any(len(w.strip(".")) == 1 for w in words)
        )
        if len(words) < 3 or not looks_personal:
            return None
        if name not in self._parsed:
            parsed = HumanName(name)
            form = _sorted_words(f"{parsed.first} {parsed.last}")
            self._parsed[name] = form or None
        return self._parsed[name]


def _sorted_words(name: str) -> str:
    words = name_key(name.replace("&", " and ")).split()
    return " ".join(sorted(words))


def _block_keys(names: _Names) -> set[str]:
    keys: set[str] = set()
    for form in (names.plain, names.person or ""):
        for word in form.split():
            if len(word) < 2 or word in _NO_BLOCK:
                continue
            keys.add(word[:3])
            if len(word) >= 4:
                keys.add("$" + word[-3:])
    return keys


def _contradicts(mine: _Names, theirs: _Names) -> bool:
    if mine.tax_id and theirs.tax_id and mine.tax_id != theirs.tax_id:
        return True
    return bool(mine.emails and theirs.emails and not mine.emails & theirs.emails)
