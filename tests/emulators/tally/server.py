"""The emulated Tally server: XML over HTTP, one request at a time, UTF-8 or UTF-16.

Transport (reference §3.1): ``POST /`` with an XML body; no authentication; requests are served
one by one (a lock; ⚠ Tally's serial processing is observed, not documented); the answer mirrors
the request's encoding (UTF-16LE when the request was UTF-16, as tally-database-loader expects);
raw control characters in stored text come back raw or as ``&#4;``-style references, as Tally
writes them. Envelopes (§3.2): TallyPrime's ``Import``/``Export`` with ``TYPE Data|Collection``
and Tally.ERP 9's ``Import Data`` (answered with a bare ``RESPONSE``). The company is chosen by
``SVCURRENTCOMPANY``; without it, the first loaded company answers.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from lxml import etree

from tests.emulators.tally.books import CONTROL_MARK, Company, Element, new_company
from tests.emulators.tally.exporter import ExportError, export_collection
from tests.emulators.tally.importer import Counts, import_objects


@dataclass
class Fault:
    """What to do instead of (or after) serving the next request."""

    kind: str  # "raw": answer ``body``; "drop": serve, then drop the connection; "reject": refuse
    body: bytes = b""
    content_type: str = "text/xml; charset=utf-8"
    message: str = ""
    on: str = "any"  # which requests it waits for: "any", "import" or "export"


class DroppedError(Exception):
    """The emulator committed the request and then dropped the connection."""


def _decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8"), "utf-8"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16"), "utf-16"
    if len(body) > 1 and body[1] == 0:
        return body.decode("utf-16-le"), "utf-16"
    if content_type and "utf-16" in content_type.lower():
        return body.decode("utf-16-le"), "utf-16"
    return body.decode("utf-8"), "utf-8"


def _serialise(root: Element, encoding: str) -> bytes:
    text = etree.tostring(root, encoding="unicode")
    # Tally writes some control characters raw and some as character references (§3.1).
    text = re.sub(
        CONTROL_MARK + r"(\d\d)",
        lambda m: f"&#{int(m.group(1))};" if int(m.group(1)) == 4 else chr(int(m.group(1))),
        text,
    )
    return text.encode("utf-16-le") if encoding == "utf-16" else text.encode("utf-8")


class TallyEmulator:
    """An in-process TallyPrime: serve it over HTTP (``serve``) or to httpx (``transport``)."""

    def __init__(self, companies: list[Company] | None = None) -> None:
        self.companies = companies or [
            new_company("Acme (2025-26)", "Maharashtra", "27AAPFU0939F1ZV")
        ]
        self.faults: list[Fault] = []
        self.requests = 0
        self.envelopes: list[str] = []
        self.encodings: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()

    # -- helpers for tests --------------------------------------------------------------

    def company(self, name: str | None = None) -> Company:
        """A loaded company by name (the first one by default)."""
        if name is None:
            return self.companies[0]
        return next(c for c in self.companies if c.name.casefold() == name.casefold())

    def import_xml(self, objects: str, company: str | None = None, dups: str = "") -> Counts:
        """Import objects as a person would in Tally (hand-made ledgers and vouchers)."""
        root = etree.fromstring(f"<TALLYMESSAGE>{objects}</TALLYMESSAGE>")
        return import_objects(self.company(company), list(root), dups)

    # -- serving ------------------------------------------------------------------------

    def handle(self, body: bytes, content_type: str | None) -> tuple[bytes, str]:
        """Serve one request: the answer's bytes and content type (raises ``DroppedError``)."""
        with self._count_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            with self._lock:
                return self._serve(body, content_type)
        finally:
            with self._count_lock:
                self.in_flight -= 1

    def _serve(self, body: bytes, content_type: str | None) -> tuple[bytes, str]:
        self.requests += 1
        text, encoding = _decode(body, content_type)
        self.encodings.append(encoding)
        answer_type = f"text/xml; charset={encoding}"
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", text), parser)
        request = (root.findtext("HEADER/TALLYREQUEST") or "").strip().casefold()
        self.envelopes.append(request)
        fault = self._fault(request.split()[0] if request else "")
        if fault is not None and fault.kind == "raw":
            return fault.body, fault.content_type
        if fault is not None and fault.kind == "reject":
            return _serialise(_envelope_error(fault.message), encoding), answer_type
        variables = {
            node.tag: (node.text or "").strip() for node in root.iterfind(".//STATICVARIABLES/*")
        }
        wanted = variables.get("SVCURRENTCOMPANY", "")
        company = next(
            (c for c in self.companies if not wanted or c.name.casefold() == wanted.casefold()),
            None,
        )
        if company is None:
            message = f"Could not set 'SVCurrentCompany' to '{wanted}'"
            return _serialise(_envelope_error(message), encoding), answer_type
        variables.setdefault("SVCURRENTCOMPANY", company.name)
        if request in ("import", "import data"):
            answer = self._import(root, company, variables, legacy=request == "import data")
            if fault is not None and fault.kind == "drop":
                raise DroppedError
        elif request in ("export", "export data"):
            answer = self._export(root, company, variables)
        else:
            answer = _envelope_error(f"Unknown Request '{request}'")
        return _serialise(answer, encoding), answer_type

    def _fault(self, request: str) -> Fault | None:
        for position, fault in enumerate(self.faults):
            if fault.on in ("any", request):
                return self.faults.pop(position)
        return None

    def _import(
        self, root: Element, company: Company, variables: dict[str, str], *, legacy: bool
    ) -> Element:
        objects = [obj for message in root.iter("TALLYMESSAGE") for obj in message]
        counts = import_objects(company, objects, variables.get("IMPORTDUPS", ""))
        return _import_answer(counts, legacy=legacy)

    def _export(self, root: Element, company: Company, variables: dict[str, str]) -> Element:
        kind = (root.findtext("HEADER/TYPE") or "").strip().casefold()
        if kind != "collection":
            name = (root.findtext("HEADER/ID") or "").strip()
            return _envelope_error(f"Could not find Report '{name}'!")
        try:
            objects = export_collection(self.companies, company, root, variables)
        except ExportError as exc:
            return _envelope_error(str(exc))
        envelope = _envelope_head(status=1)
        body = etree.SubElement(envelope, "BODY")
        etree.SubElement(body, "DESC")
        collection = etree.SubElement(etree.SubElement(body, "DATA"), "COLLECTION")
        for obj in objects:
            collection.append(obj)
        return envelope

    def transport(self) -> httpx.MockTransport:
        """An httpx transport that hands every request to this emulator."""

        def respond(request: httpx.Request) -> httpx.Response:
            kind = request.headers.get("content-type")
            try:
                body, content_type = self.handle(request.content, kind)
            except DroppedError:
                message = "connection dropped after commit"
                raise httpx.ReadTimeout(message, request=request) from None
            return httpx.Response(200, content=body, headers={"Content-Type": content_type})

        return httpx.MockTransport(respond)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on 127.0.0.1 at a free port in a thread; yields the URL."""
        handler = _handler_for(self.handle)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


def _envelope_head(status: int) -> Element:
    envelope = etree.Element("ENVELOPE")
    header = etree.SubElement(envelope, "HEADER")
    etree.SubElement(header, "VERSION").text = "1"
    etree.SubElement(header, "STATUS").text = str(status)
    return envelope


def _envelope_error(message: str) -> Element:
    envelope = _envelope_head(status=0)
    data = etree.SubElement(etree.SubElement(envelope, "BODY"), "DATA")
    etree.SubElement(data, "LINEERROR").text = message
    return envelope


def _counts(parent: Element, counts: Counts) -> None:
    for tag, value in (
        ("CREATED", counts.created), ("ALTERED", counts.altered), ("DELETED", counts.deleted),
        ("LASTVCHID", counts.last_voucher_id), ("LASTMID", counts.last_master_id),
        ("COMBINED", counts.combined), ("IGNORED", counts.ignored), ("ERRORS", counts.errors),
        ("CANCELLED", counts.cancelled), ("EXCEPTIONS", counts.exceptions),
    ):  # fmt: skip
        etree.SubElement(parent, tag).text = str(value)


def _import_answer(counts: Counts, *, legacy: bool) -> Element:
    """§3.5's shape; Tally.ERP 9's ``Import Data`` gets the bare ``RESPONSE`` form."""
    if legacy:
        response = etree.Element("RESPONSE")
        _counts(response, counts)
        for message in counts.line_errors:
            etree.SubElement(response, "LINEERROR").text = message
        return response
    envelope = _envelope_head(status=0 if counts.errors and not _imported(counts) else 1)
    data = etree.SubElement(etree.SubElement(envelope, "BODY"), "DATA")
    _counts(etree.SubElement(data, "IMPORTRESULT"), counts)
    for message in counts.line_errors:
        etree.SubElement(data, "LINEERROR").text = message
    return envelope


def _imported(counts: Counts) -> int:
    return counts.created + counts.altered + counts.deleted + counts.combined + counts.cancelled


def _handler_for(
    handle: Callable[[bytes, str | None], tuple[bytes, str]],
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once, as from Tally

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            try:
                answer, content_type = handle(body, self.headers.get("Content-Type"))
            except DroppedError:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
