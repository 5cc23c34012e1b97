"""First-sync matching: find the record the books already hold for a new source record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ledgerlink.canonical.normalise import email_key, name_key, tax_id_key
from ledgerlink.canonical.records import Customer, Invoice, Record, TargetRecord
from ledgerlink.matching.fuzzy import FuzzyCandidate, FuzzyIndex


def natural_keys(record: Record) -> list[tuple[str, str]]:
    """The keys that identify a record across systems, strongest first.

    Customers: tax id, then each e-mail, then the normalised name. Invoices: their number.
    """
    keys: list[tuple[str, str]] = []
    if isinstance(record, Customer):
        if record.tax_id and tax_id_key(record.tax_id):
            keys.append(("tax_id", tax_id_key(record.tax_id)))
        for email in (record.email, *record.other_emails):
            if email:
                keys.append(("email", email_key(email)))
        name = name_key(record.display_name)
        if name:
            keys.append(("name", name))
    elif isinstance(record, Invoice) and record.number:
        keys.append(("number", record.number.strip().casefold()))
    return keys


@dataclass(frozen=True, slots=True)
class Match:
    """The outcome of matching one record: found, new, or ambiguous (several candidates)."""

    target_id: str | None
    reason: str
    candidates: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        """True when more than one existing record fits and none can be chosen safely."""
        return self.target_id is None and len(self.candidates) > 1


_STRONG = ("tax_id", "email")


def _digest(key: tuple[str, str]) -> int:
    """A 64-bit in-memory stand-in for a key: a million customers index in tens of MiB.

    Python's string hash is per process, which is all an index built for one run needs. Two
    different keys sharing a hash (odds about 1 in 10^7 across a million-record run) would make a
    false candidate; strong keys of existing records are checked again, so it cannot merge them.
    """
    return hash(key)


@dataclass(slots=True)
class MatchIndex:
    """Existing target records (and records planned in this run) by natural key, compactly."""

    _by_key: dict[int, str | tuple[str, ...]] = field(default_factory=dict)
    _strong_of: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    _by_ledgerlink_id: dict[str, str] = field(default_factory=dict)
    fuzzy: FuzzyIndex | None = None
    """Existing customers by name for the fuzzy tier (review candidates only), when asked for."""

    @classmethod
    def of(cls, records: Iterable[TargetRecord], *, fuzzy: bool = False) -> MatchIndex:
        """Index what the target already holds; ``fuzzy`` also builds the fuzzy tier's index."""
        index = cls(fuzzy=FuzzyIndex() if fuzzy else None)
        for existing in records:
            index.add(existing.target_id, existing.record)
            if index.fuzzy is not None:
                index.fuzzy.add(existing.target_id, existing.record)
            if existing.ledgerlink_id:
                index._by_ledgerlink_id[existing.ledgerlink_id] = existing.target_id
        return index

    def find_ledgerlink(self, ledgerlink_id: str) -> str | None:
        """The target record ledgerlink itself created with this id, if any (state recovery)."""
        return self._by_ledgerlink_id.get(ledgerlink_id)

    def add(self, target_id: str, record: Record, *, strong_only: bool = False) -> None:
        """Make ``record`` findable as ``target_id`` (an existing id or a planned create).

        ``strong_only`` indexes only tax ids and e-mails: what a record planned in this run needs
        to catch the same party exported twice, at a fraction of the memory.
        """
        keys = natural_keys(record)
        if not strong_only:
            self._strong_of[target_id] = _strong_digests(keys)
        for key in keys:
            if strong_only and key[0] not in _STRONG:
                continue
            digest = _digest(key)
            current = self._by_key.get(digest)
            if current is None:
                self._by_key[digest] = target_id
            elif isinstance(current, str):
                if current != target_id:
                    self._by_key[digest] = (current, target_id)
            elif target_id not in current:
                self._by_key[digest] = (*current, target_id)

    def find(self, record: Record) -> Match:
        """The existing record this one is, by the strongest natural key that decides.

        A candidate found by a weaker key is rejected when a stronger key contradicts it: two
        "John Smith"s with different e-mails are two customers.
        """
        keys = natural_keys(record)
        mine = _strong_digests(keys)
        for key in keys:
            hit = self._by_key.get(_digest(key))
            if hit is None:
                continue
            candidates = (hit,) if isinstance(hit, str) else hit
            found = sorted(t for t in candidates if not self._contradicts(t, mine))
            kind = key[0].replace("_", " ")
            if len(found) == 1:
                return Match(found[0], f"same {kind}")
            if found:
                return Match(None, f"{len(found)} records share this {kind}", tuple(found))
        return Match(None, "no existing record")

    def find_fuzzy(self, record: Record) -> tuple[FuzzyCandidate, ...]:
        """Existing records whose names are close to this one's: candidates for a person.

        Never a match by itself; empty when the fuzzy tier was not built (invoices).
        """
        return () if self.fuzzy is None else self.fuzzy.find(record)

    def _contradicts(self, target_id: str, mine: tuple[tuple[int, ...], tuple[int, ...]]) -> bool:
        theirs = self._strong_of.get(target_id)
        if theirs is None:
            return False
        return any(m and t and not set(m) & set(t) for m, t in zip(mine, theirs, strict=True))


def _strong_digests(keys: list[tuple[str, str]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return (
        tuple(_digest(k) for k in keys if k[0] == "tax_id"),
        tuple(_digest(k) for k in keys if k[0] == "email"),
    )
