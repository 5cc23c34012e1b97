"""The ``outlook_csv`` and ``vcard`` sources: Outlook's contact exports as files."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import partial

from ledgerlink.canonical.records import Change, ReadFailure
from ledgerlink.connectors.base import ConnectorContext, StreamRead
from ledgerlink.connectors.csv.changes import (
    FileStreamRead,
    Item,
    Versioner,
    failing,
    make_cursor,
    settings_fingerprint,
)
from ledgerlink.connectors.csv.streams import read_records
from ledgerlink.connectors.files import CsvTable, FileScan, scan_text_file
from ledgerlink.connectors.outlook.config import OutlookCsvConfig, VcardConfig
from ledgerlink.connectors.outlook.translate import (
    OutlookOptions,
    build_outlook_contact,
    outlook_key_of,
    resolve_outlook_columns,
)
from ledgerlink.connectors.outlook.vcard import (
    build_vcard_contact,
    card_key,
    card_raw,
    iter_cards,
    mend_quoted_printable,
    properties,
)
from ledgerlink.errors import ConfigError, ConnectionFailedError, RecordError

# Bump when the same row or card would translate to a different record.
TRANSLATION_REVISION = 1


def _only_contacts(system: str, name: str, stream: str) -> None:
    if stream != "contacts":
        raise ConfigError(
            f"the {system} connection {name!r} has no stream {stream!r}",
            hint="Read contacts from it; deals come from a CRM that has them (or `type: csv`)",
        )


class OutlookCsvConnector:
    """Reads ``contacts`` from Outlook's CSV export, mapping headers by name in four languages."""

    system = "outlook_csv"

    def __init__(self, config: OutlookCsvConfig, context: ConnectorContext) -> None:
        self.config = config
        self.context = context
        self._options = OutlookOptions(config.default_region, config.currency or "")
        self._fingerprint = settings_fingerprint(
            config, exclude={"path"}, revision=TRANSLATION_REVISION
        )

    def readable_streams(self) -> tuple[str, ...]:
        """Only contacts: an Outlook export has no deals."""
        return ("contacts",)

    def _table(self) -> CsvTable:
        scan = scan_text_file(self.context.resolve(self.config.path), self.config.encoding)
        return CsvTable(scan, None)

    def check(self) -> str:
        """``contacts.csv: 1,204 contacts, UTF-8, delimiter ',', German headers``."""
        table = self._table()
        _, language = resolve_outlook_columns(table.name, table.header())
        return f"{table.describe('contacts')}, {language} headers"

    def read(self, stream: str, cursor: str | None) -> StreamRead:
        """Stream the export's contacts; nothing when its digest equals ``cursor``."""
        _only_contacts(self.system, self.context.name, stream)
        table = self._table()
        next_cursor = make_cursor(stream, table.scan.digest, self._fingerprint)
        if cursor == next_cursor:
            return FileStreamRead(None, next_cursor, (table.scan,))
        columns, _ = resolve_outlook_columns(table.name, table.header())
        build = partial(build_outlook_contact, columns=columns, options=self._options)
        versioner = Versioner(f"{self._fingerprint}:{stream}")
        produce = partial(read_records, table, columns, versioner, outlook_key_of(columns), build)
        return FileStreamRead(produce, next_cursor, (table.scan,))


class VcardConnector:
    """Reads ``contacts`` from a .vcf file or a folder of them; each card is one contact."""

    system = "vcard"

    def __init__(self, config: VcardConfig, context: ConnectorContext) -> None:
        self.config = config
        self.context = context
        self._options = OutlookOptions(config.default_region, config.currency or "")
        self._fingerprint = settings_fingerprint(
            config, exclude={"path"}, revision=TRANSLATION_REVISION
        )

    def readable_streams(self) -> tuple[str, ...]:
        """Only contacts."""
        return ("contacts",)

    def _scans(self) -> list[FileScan]:
        path = self.context.resolve(self.config.path)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".vcf" and p.is_file())
            if not files:
                raise ConnectionFailedError(
                    f"{path} holds no .vcf file",
                    hint="Export the contacts as vCard files into that folder, or point `path:` "
                    "at a .vcf file",
                )
        else:
            files = [path]
        return [scan_text_file(p, self.config.encoding) for p in files]

    def check(self) -> str:
        """``contacts.vcf: 42 cards (vCard 2.1), UTF-8`` or, for a folder, the total."""
        scans = self._scans()
        versions: Counter[str] = Counter()
        cards = 0
        for scan in scans:
            with scan.path.open(encoding=scan.encoding) as handle:
                for card in iter_cards(handle):
                    cards += 1
                    version = next((v for n, _, v in properties(card.lines) if n == "VERSION"), "")
                    versions[version.strip() or "?"] += 1
        kinds = ", ".join(f"vCard {v}" for v in sorted(versions))
        where = scans[0].path.name if len(scans) == 1 else f"{len(scans)} files"
        labels = ", ".join(sorted({s.label for s in scans}))
        return f"{where}: {cards:,} cards ({kinds or 'none'}), {labels}"

    def read(self, stream: str, cursor: str | None) -> StreamRead:
        """Stream every card; nothing when the files' digest equals ``cursor``."""
        _only_contacts(self.system, self.context.name, stream)
        scans = self._scans()
        digest = hashlib.sha256(
            "\n".join(f"{s.path.name}\0{s.digest}" for s in scans).encode()
        ).hexdigest()
        next_cursor = make_cursor(stream, digest, self._fingerprint)
        if cursor == next_cursor:
            return FileStreamRead(None, next_cursor, scans)
        versioner = Versioner(f"{self._fingerprint}:{stream}")
        produce = partial(read_cards, scans, self._options, versioner)
        return FileStreamRead(produce, next_cursor, scans)


def read_cards(
    scans: Sequence[FileScan], options: OutlookOptions, versioner: Versioner
) -> Iterator[Item]:
    """One change per card, keyed by UID, else e-mail, else name; located ``file.vcf:card 3``."""
    seen: dict[str, tuple[str, str]] = {}
    for scan in scans:
        with scan.path.open(encoding=scan.encoding) as handle:
            for card in iter_cards(handle):
                location = f"{scan.path.name}:card {card.number}"
                if not card.complete:
                    yield ReadFailure(
                        key=location,
                        location=location,
                        error=RecordError(
                            f"card {card.number} (line {card.line}) has no END:VCARD; the file "
                            "ends inside it",
                            hint="Export the contacts again; the file was cut off",
                        ),
                    )
                    continue
                props = list(properties(mend_quoted_printable(card.lines)))
                key, raw = card_key(props), card_raw(props)
                if not key:
                    yield ReadFailure(
                        key=location,
                        location=location,
                        error=RecordError(
                            "the card has no UID, e-mail, name or organisation, so it cannot be "
                            "told apart from other cards",
                            hint="Give the contact an e-mail address or a name in the address "
                            "book, or delete it",
                        ),
                        raw=raw,
                    )
                    continue
                version = versioner.of_cells(card.lines)
                first = seen.setdefault(key, (location, version))
                if first[0] != location and first[1] == version:
                    continue
                load = (
                    partial(build_vcard_contact, card.lines, options)
                    if first[0] == location
                    else failing(_duplicate(location, first[0]))
                )
                yield Change(key=key, version=version, load=load, location=location, raw=raw)


def _duplicate(location: str, first: str) -> RecordError:
    return RecordError(
        f"duplicate contact: {location} has the same key as {first} with different values",
        hint="Merge the two contacts in the address book (one person is one contact) and export "
        "again",
    )
