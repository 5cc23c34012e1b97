"""File mode: import XML files for an accountant, with a manifest so re-runs add only changes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from ledgerlink.canonical.records import Address, Customer
from ledgerlink.connectors.base import WriteOutcome, WriteRequest
from ledgerlink.connectors.tally.config import TallyConfig
from ledgerlink.connectors.tally.envelopes import ImportReport, import_file
from ledgerlink.connectors.tally.prepare import (
    Prepared,
    prepare_customer,
    prepare_invoice,
    prepare_payment,
)
from ledgerlink.connectors.tally.readback import LedgerInfo
from ledgerlink.connectors.tally.translate import stock_item_element
from ledgerlink.connectors.tally.writer import WRITABLE, failed
from ledgerlink.connectors.tally.xml import BadXmlError, Element, UnsafeXmlError, parse, render
from ledgerlink.errors import ConnectionFailedError, ErrorContext, FatalError, RecordError

MANIFEST_VERSION = 1


@dataclass(frozen=True, slots=True)
class FilePaths:
    """The two import files and the manifest derived from the configured ``file``."""

    masters: Path
    vouchers: Path
    manifest: Path

    @classmethod
    def of(cls, file: Path) -> FilePaths:
        """``x.xml`` → ``x-masters.xml``, ``x-vouchers.xml`` and ``x.manifest.json``."""
        stem = file.stem if file.suffix.lower() == ".xml" else file.name
        folder = file.parent
        return cls(
            folder / f"{stem}-masters.xml",
            folder / f"{stem}-vouchers.xml",
            folder / f"{stem}.manifest.json",
        )


@dataclass(slots=True)
class Manifest:
    """What was exported: a digest per object, and the party ledgers invoices refer to."""

    objects: dict[str, str] = field(default_factory=dict)
    ledgers: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """The manifest on disk, or an empty one."""
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise FatalError(
                f"the Tally export manifest {path} cannot be read: {exc}",
                hint="Restore it from a backup, or delete it to export everything again "
                "(re-importing is safe: objects carry their REMOTEID)",
            ) from None
        if data.get("version") != MANIFEST_VERSION:
            raise FatalError(f"the Tally export manifest {path} has an unknown version")
        return cls(dict(data.get("objects", {})), dict(data.get("ledgers", {})))

    def to_bytes(self) -> bytes:
        """The manifest as stable JSON."""
        data = {"version": MANIFEST_VERSION, "objects": self.objects, "ledgers": self.ledgers}
        return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")

    def ledger(self, name: str) -> LedgerInfo | None:
        """A party ledger ledgerlink exported, by name (case-insensitive as in Tally)."""
        found = self.ledgers.get(name) or next(
            (v for k, v in self.ledgers.items() if k.casefold() == name.casefold()), None
        )
        if found is None:
            return None
        return LedgerInfo(
            name=found["name"],
            guid=found["guid"],
            alter_id=0,
            parent=found.get("parent", ""),
            state=found.get("state", ""),
            country=found.get("country", ""),
            gstin=found.get("gstin", ""),
            customer=Customer(
                display_name=found["name"],
                email=found.get("email", ""),
                tax_id=found.get("gstin", ""),
                billing_address=Address(
                    region=found.get("state", ""), country=found.get("country", "")
                ),
            ),
        )

    def remember(self, info: LedgerInfo, replaces: str | None) -> None:
        """Record an exported party ledger (renamed from ``replaces``)."""
        if replaces and replaces != info.name:
            self.ledgers.pop(replaces, None)
        self.ledgers[info.name] = {
            "name": info.name,
            "guid": info.guid,
            "parent": info.parent,
            "state": info.state,
            "country": info.country,
            "gstin": info.gstin,
            "email": info.customer.email,
        }


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old or the new file, never half."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def object_key(node: Element) -> str:
    """An object's identity in the files: its tag and REMOTEID (stock items: their name)."""
    return f"{node.tag}:{node.get('REMOTEID') or node.get('NAME') or ''}"


def digest(node: Element) -> str:
    """A content digest of an object, the same whether it is written as a Create or an Alter.

    Left out: the action, the NAME attribute (an alteration names the old name), the GUID and
    opening balance only a creation carries, and empty tags an alteration uses to clear a field.
    """
    copy = etree.fromstring(etree.tostring(node))
    for attribute in ("ACTION", "NAME"):
        if attribute in copy.attrib:
            del copy.attrib[attribute]
    for child in list(copy):
        empty = len(child) == 0 and not (child.text or "").strip()
        if child.tag in ("GUID", "OPENINGBALANCE") or empty:
            copy.remove(child)
    return hashlib.sha256(etree.tostring(copy, method="c14n")).hexdigest()[:32]


class PendingFile:
    """One import file not yet imported (still on disk), its objects in order by key."""

    def __init__(self, path: Path, report: ImportReport) -> None:
        self.path = path
        self.report: ImportReport = report
        self.objects: dict[str, Element] = {}
        data = path.read_bytes() if path.exists() else None
        if data is not None:
            try:
                root = parse(data)
            except (UnsafeXmlError, BadXmlError) as exc:
                raise FatalError(
                    f"{path} is not an import file ledgerlink can add to: {exc}",
                    hint="Move it away (import it first if it is ours) and run again",
                ) from None
            for message in root.iter("TALLYMESSAGE"):
                for node in message:
                    self.objects[object_key(node)] = node
        self.changed = False

    def add(self, node: Element) -> None:
        """Add an object; an alteration of an object still waiting here stays a creation."""
        key = object_key(node)
        waiting = self.objects.get(key)
        if (
            waiting is not None
            and waiting.get("ACTION") == "Create"
            and node.get("ACTION") == "Alter"
        ):
            node.set("ACTION", "Create")
            names = node.findall("NAME.LIST/NAME")
            if names and names[0].text:
                node.set("NAME", names[0].text)
            if node.find("GUID") is None and node.get("REMOTEID"):
                guid = etree.Element("GUID")
                guid.text = node.get("REMOTEID")
                node.insert(0, guid)
        self.objects[key] = node
        self.changed = True

    def save(self) -> None:
        """Write the file atomically when something was added."""
        if self.changed:
            write_atomically(self.path, render(import_file(self.report, self.objects.values())))
            self.changed = False


class FileWriter:
    """Applies write requests by adding objects to the import files; one outcome per request."""

    def __init__(self, config: TallyConfig, file: Path, today: Callable[[], date]) -> None:
        self._config = config
        self.paths = FilePaths.of(file)
        self._today = today

    def manifest(self) -> Manifest:
        """The manifest as on disk."""
        return Manifest.load(self.paths.manifest)

    def apply(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome]:
        """Add new or changed objects to the files, then record them in the manifest."""
        if not self.paths.manifest.parent.is_dir():
            raise ConnectionFailedError(
                f"the folder {self.paths.manifest.parent} does not exist",
                hint="Create it, or correct `file:`",
                context=ErrorContext(system="tally", location=str(self.paths.manifest.parent)),
            )
        manifest = self.manifest()
        masters = PendingFile(self.paths.masters, "All Masters")
        vouchers = PendingFile(self.paths.vouchers, "Vouchers")
        outcomes: list[WriteOutcome] = []
        for position, request in enumerate(requests):
            try:
                prepared = self._prepare(position, request, manifest)
            except RecordError as error:
                outcomes.append(failed(request, error))
                continue
            target = masters if request.stream == "customers" else vouchers
            for item in sorted(prepared.stock_items):
                self._add(masters, manifest, stock_item_element(item, self._config.stock_unit))
            self._add(target, manifest, prepared.node)
            if prepared.ledger is not None:
                manifest.remember(prepared.ledger, prepared.replaces)
            outcomes.append(WriteOutcome(request, target_id=prepared.target_id))
        vouchers.save()
        masters.save()
        write_atomically(self.paths.manifest, manifest.to_bytes())
        return outcomes

    def _prepare(self, position: int, request: WriteRequest, manifest: Manifest) -> Prepared:
        if request.stream == "customers":
            return prepare_customer(position, request, self._config, manifest.ledger, sparse=False)
        if request.stream == "invoices":
            return prepare_invoice(position, request, self._config, manifest.ledger, self._today())
        if request.stream == "payments":
            return prepare_payment(position, request, self._config, manifest.ledger)
        raise RecordError(
            f"the Tally connector does not write {request.stream!r}",
            hint=f"It writes {', '.join(WRITABLE)}",
        )

    @staticmethod
    def _add(pending: PendingFile, manifest: Manifest, node: Element) -> None:
        key, content = object_key(node), digest(node)
        if manifest.objects.get(key) == content:
            return
        pending.add(node)
        manifest.objects[key] = content

    def describe(self) -> str:
        """Which files wait to be imported, in which order."""
        waiting = [
            (path, label, menu)
            for path, label, menu in (
                (self.paths.masters, "masters", "Import > Masters"),
                (self.paths.vouchers, "vouchers", "Import > Transactions"),
            )
            if path.exists()
        ]
        exported = len(self.manifest().objects)
        if not waiting:
            return (
                f"Tally import files go to {self.paths.masters.parent}; nothing is waiting to be "
                f"imported ({exported} object(s) exported so far)"
            )
        steps = "; then ".join(
            f"{menu}: {path} ({_count(path)} {label})" for path, label, menu in waiting
        )
        return (
            f"Import into Tally (Gateway of Tally > Import): {steps}. Move or delete each file "
            "after importing it; until then ledgerlink adds new objects to it"
        )


def _count(path: Path) -> int:
    try:
        return len(PendingFile(path, "Vouchers").objects)
    except FatalError:
        return 0
