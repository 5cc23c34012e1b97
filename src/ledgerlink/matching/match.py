"""First-sync matching: find the record the books already hold for a new source record."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ledgerlink.canonical.normalise import email_key, name_key, tax_id_key
from ledgerlink.canonical.records import Customer, Invoice, Record, TargetRecord


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


@dataclass(slots=True)
class MatchIndex:
    """Existing target records (and records planned in this run) by natural key."""

    _by_key: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    _keys_of: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    _by_ledgerlink_id: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[TargetRecord]) -> MatchIndex:
        """Index what the target already holds."""
        index = cls()
        for existing in records:
            index.add(existing.target_id, existing.record)
            if existing.ledgerlink_id:
                index._by_ledgerlink_id[existing.ledgerlink_id] = existing.target_id
        return index

    def find_ledgerlink(self, ledgerlink_id: str) -> str | None:
        """The target record ledgerlink itself created with this id, if any (state recovery)."""
        return self._by_ledgerlink_id.get(ledgerlink_id)

    def add(self, target_id: str, record: Record) -> None:
        """Make ``record`` findable as ``target_id`` (an existing id or a planned create)."""
        for key in natural_keys(record):
            self._by_key[key].add(target_id)
            self._keys_of[target_id].add(key)

    def find(self, record: Record) -> Match:
        """The existing record this one is, by the strongest natural key that decides.

        A candidate found by a weaker key is rejected when a stronger key contradicts it: two
        "John Smith"s with different e-mails are two customers.
        """
        keys = natural_keys(record)
        for kind, value in keys:
            found = {
                t for t in self._by_key.get((kind, value), ()) if not self._contradicts(t, keys)
            }
            if len(found) == 1:
                (target_id,) = found
                return Match(target_id, f"same {kind.replace('_', ' ')}")
            if found:
                reason = f"{len(found)} records share this {kind.replace('_', ' ')}"
                return Match(None, reason, tuple(sorted(found)))
        return Match(None, "no existing record")

    def _contradicts(self, target_id: str, keys: list[tuple[str, str]]) -> bool:
        theirs = self._keys_of.get(target_id, set())
        for kind in ("tax_id", "email"):
            mine = {k for k in keys if k[0] == kind}
            other = {k for k in theirs if k[0] == kind}
            if mine and other and not mine & other:
                return True
        return False
