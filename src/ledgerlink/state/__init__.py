"""State layer of ledgerlink: links, cursors, intents, dead letters and the audit trail."""

from ledgerlink.state.records import (
    AuditEntry,
    AuditVerdict,
    AuditWrite,
    BatchCommit,
    DeadLetter,
    DeadLetterWrite,
    Intent,
    IntentWrite,
    Link,
    LinkWrite,
    RunRow,
)
from ledgerlink.state.store import StateStore

__all__ = [
    "AuditEntry",
    "AuditVerdict",
    "AuditWrite",
    "BatchCommit",
    "DeadLetter",
    "DeadLetterWrite",
    "Intent",
    "IntentWrite",
    "Link",
    "LinkWrite",
    "RunRow",
    "StateStore",
]
