"""GoldMine's date-plus-"HH:MM" stamps, and the read cursor built from them (with its boundary)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import orjson

CURSOR_PREFIX = "goldmine:1:"
#: How many keys at the boundary stamp the cursor remembers; beyond it rows are simply re-read
#: (their versions are unchanged, so the engine still skips them).
MAX_BOUNDARY_KEYS = 10_000
BOUNDARY_DIGEST_CHARS = 12

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp])?\.?[Mm]?\.?\s*$")


def parse_clock(text: str | None) -> time | None:
    """GoldMine's ``LASTTIME``/``CREATEAT``: ``HH:MM``, ``HH:MM:SS``, ``9:05`` or ``09:05pm``."""
    if not text:
        return None
    match = _CLOCK.match(text)
    if match is None:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if match[4]:
        hour = hour % 12 + (12 if match[4] in "Pp" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def local_stamp(day: date | datetime | None, clock: str | None) -> datetime | None:
    """The naive local moment of a ``LASTDATE`` + ``LASTTIME`` pair (midnight when no time)."""
    if day is None:
        return None
    when = parse_clock(clock) or time(0, 0)
    base = day.date() if isinstance(day, datetime) else day
    return datetime.combine(base, when)


def goldmine_stamp(local: datetime) -> tuple[datetime, str]:
    """What GoldMine writes for a local moment: the date at midnight and ``HH:MM``."""
    return datetime.combine(local.date(), time(0, 0)), f"{local.hour:02d}:{local.minute:02d}"


@dataclass(frozen=True, slots=True)
class ReadCursor:
    """Where a stream's last read ended.

    ``stamp`` is the newest row stamp seen (naive, GoldMine's local time) and ``at_stamp`` the keys
    seen at exactly that stamp with a digest of their content: GoldMine stamps have minute
    precision, so a row edited again within that minute comes back with the same stamp and is
    re-read only if its content changed. ``log_stamp``/``log_ids`` do the same for the deletions
    in the sync log; ``files`` fingerprints dBase files.
    """

    stamp: datetime | None = None
    at_stamp: Mapping[str, str] = field(default_factory=dict)
    log_stamp: str | None = None
    log_ids: frozenset[str] = frozenset()
    files: str | None = None

    def encode(self) -> str:
        """The cursor as the text the state store keeps."""
        body = {
            "stamp": self.stamp.isoformat() if self.stamp else None,
            "at": dict(sorted(self.at_stamp.items())),
            "log": self.log_stamp,
            "log_ids": sorted(self.log_ids),
            "files": self.files,
        }
        return CURSOR_PREFIX + orjson.dumps(body).decode()

    @classmethod
    def decode(cls, text: str | None) -> ReadCursor | None:
        """The cursor stored earlier; ``None`` (read everything) for none or a foreign one."""
        if not text or not text.startswith(CURSOR_PREFIX):
            return None
        try:
            body = orjson.loads(text[len(CURSOR_PREFIX) :])
            stamp = datetime.fromisoformat(body["stamp"]) if body.get("stamp") else None
            return cls(
                stamp=stamp,
                at_stamp={str(k): str(v) for k, v in (body.get("at") or {}).items()},
                log_stamp=body.get("log"),
                log_ids=frozenset(str(i) for i in body.get("log_ids") or ()),
                files=body.get("files"),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return None


class StampWindow:
    """Decides which rows an incremental read emits and where the next read starts.

    A row is emitted when its stamp is at or after ``stamp - overlap`` (late writers, skewed
    clocks), except a row at exactly the previous boundary stamp whose content is unchanged.
    The next cursor is the newest stamp seen, capped at ``now`` so that one workstation with a
    clock in the future cannot push the cursor past everybody else's edits.
    """

    def __init__(self, cursor: ReadCursor | None, overlap: timedelta, now: datetime) -> None:
        self._previous = cursor.stamp if cursor else None
        self._previous_keys: Mapping[str, str] = cursor.at_stamp if cursor else {}
        self.since = self._previous - overlap if self._previous else None
        self._limit = now
        self._newest = self._previous
        self._at_newest: dict[str, str] = dict(self._previous_keys) if self._previous else {}

    def wants(self, key: str, stamp: datetime | None, digest: str) -> bool:
        """Record the row's stamp for the next cursor; True when the row must be emitted."""
        self._observe(key, stamp, digest)
        if self.since is None:
            return True
        if stamp is None or stamp < self.since:
            return False
        short = digest[:BOUNDARY_DIGEST_CHARS]
        return not (stamp == self._previous and self._previous_keys.get(key) == short)

    def _observe(self, key: str, stamp: datetime | None, digest: str) -> None:
        if stamp is None or stamp > self._limit:
            return
        if self._newest is None or stamp > self._newest:
            self._newest, self._at_newest = stamp, {}
        if stamp == self._newest and len(self._at_newest) < MAX_BOUNDARY_KEYS:
            self._at_newest[key] = digest[:BOUNDARY_DIGEST_CHARS]

    def result(self) -> tuple[datetime | None, dict[str, str]]:
        """The stamp and boundary keys of the next cursor."""
        return self._newest, self._at_newest


class LogWindow:
    """The same boundary rule for sync-log deletions, whose stamps are opaque sortable text."""

    def __init__(self, cursor: ReadCursor | None) -> None:
        # After a first read of an empty log, every entry is new: "" sorts before any stamp.
        self.since = (cursor.log_stamp or "") if cursor else None
        self._previous_ids = cursor.log_ids if cursor else frozenset()
        self._newest = self.since or None
        self._at_newest: set[str] = set(self._previous_ids)

    def wants(self, stamp: str, record_id: str) -> bool:
        """Record the entry; True when it is new since the cursor."""
        if self._newest is None or stamp > self._newest:
            self._newest, self._at_newest = stamp, set()
        if stamp == self._newest:
            self._at_newest.add(record_id)
        if self.since is None or stamp < self.since:
            return False  # a first read starts after what is already logged
        return not (stamp == self.since and record_id in self._previous_ids)

    def result(self) -> tuple[str | None, frozenset[str]]:
        """The log stamp and ids of the next cursor."""
        return self._newest, frozenset(sorted(self._at_newest)[:MAX_BOUNDARY_KEYS])
