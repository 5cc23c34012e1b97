"""The ``csv`` source: contacts and deals from any CRM's CSV or XLSX export."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from ledgerlink.connectors.base import ConnectorContext, StreamRead
from ledgerlink.connectors.csv.changes import (
    FileStreamRead,
    Versioner,
    make_cursor,
    settings_fingerprint,
)
from ledgerlink.connectors.csv.columns import (
    ColumnMap,
    header_key,
    resolve_columns,
    stream_overrides,
)
from ledgerlink.connectors.csv.config import CsvConfig
from ledgerlink.connectors.csv.streams import Table, read_contacts, read_deals
from ledgerlink.connectors.csv.translate import ReadOptions
from ledgerlink.connectors.csv.xlsx import XlsxTable
from ledgerlink.connectors.files import CsvTable, FileScan, digest_file, scan_text_file
from ledgerlink.errors import ConfigError

# Bump when the same row would translate to a different record, so stored versions go stale.
TRANSLATION_REVISION = 1
STREAMS = ("contacts", "deals")
WORKBOOKS = (".xlsx", ".xlsm")


class CsvConnector:
    """Reads ``contacts`` and ``deals`` from CSV or XLSX files, streaming row by row."""

    system = "csv"

    def __init__(self, config: CsvConfig, context: ConnectorContext) -> None:
        self.config = config
        self.context = context
        self._options = ReadOptions.from_config(config)
        self._fingerprint = settings_fingerprint(
            config, exclude={"contacts", "deals"}, revision=TRANSLATION_REVISION
        )

    def readable_streams(self) -> tuple[str, ...]:
        """The streams whose file is configured."""
        return tuple(s for s in STREAMS if self._configured(s) is not None)

    def _configured(self, stream: str) -> Path | None:
        if stream == "contacts":
            return self.config.contacts
        if stream == "deals":
            return self.config.deals
        raise ConfigError(
            f"the csv connection {self.context.name!r} has no stream {stream!r}",
            hint="Read contacts or deals from it",
        )

    def _path(self, stream: str) -> Path:
        configured = self._configured(stream)
        if configured is None:
            raise ConfigError(
                f"the csv connection {self.context.name!r} has no `{stream}:` file",
                hint=f"Add `{stream}: path/to/{stream}.csv` to the connection, "
                f"or do not read {stream} from it",
            )
        return self.context.resolve(configured)

    def _scan(self, path: Path) -> FileScan:
        suffix = path.suffix.lower()
        if suffix == ".xls":
            raise ConfigError(
                f"{path.name} is an old Excel workbook (.xls), which ledgerlink does not read",
                hint="Save it as an Excel workbook (.xlsx) or export it as CSV",
            )
        if suffix in WORKBOOKS:
            return digest_file(path)
        return scan_text_file(path, self.config.encoding)

    def _table(self, scan: FileScan) -> Table:
        if scan.path.suffix.lower() in WORKBOOKS:
            return XlsxTable(scan, self.config.sheet)
        return CsvTable(scan, self.config.delimiter)

    def _columns(self, stream: str, table: Table) -> ColumnMap:
        overrides = stream_overrides(stream, self.config.columns)
        return resolve_columns(table.name, table.header(), stream, overrides)

    def check(self) -> str:
        """Open every file, check its header, count its rows: ``contacts.csv: 1,204 rows, ...``."""
        described: list[str] = []
        headers: list[set[str]] = []
        for stream in self.readable_streams():
            table = self._table(self._scan(self._path(stream)))
            columns = self._columns(stream, table)
            headers.append({header_key(h) for h in columns.header})
            described.append(table.describe(stream))
        for column, header in self.config.columns.items():
            if "." not in column and not any(header_key(header) in h for h in headers):
                raise ConfigError(
                    f"`columns:` maps {column} to {header!r}, but no file has that header",
                    hint="Correct the header name in `columns:` (case and spaces do not matter)",
                )
        return "; ".join(described)

    def read(self, stream: str, cursor: str | None) -> StreamRead:
        """Stream the file's records; nothing when its digest equals ``cursor``."""
        scan = self._scan(self._path(stream))
        next_cursor = make_cursor(stream, scan.digest, self._fingerprint)
        if cursor == next_cursor:
            return FileStreamRead(None, next_cursor, (scan,))
        table = self._table(scan)
        columns = self._columns(stream, table)
        versioner = Versioner(f"{self._fingerprint}:{stream}")
        reader = read_contacts if stream == "contacts" else read_deals
        produce = partial(reader, table, columns, self._options, versioner)
        return FileStreamRead(produce, next_cursor, (scan,))
