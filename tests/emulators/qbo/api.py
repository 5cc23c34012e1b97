"""The emulated QuickBooks Online service: routing, auth, limits, requestid replay and fault hooks.

Paths per accounting-systems.md §1.1 (``/v3/company/{realmId}/{entity}``, ``/query``, ``/cdc``,
``/batch``; ``?operation=void|delete``; ``minorversion`` on every call). Every request is checked
for a bearer token valid for the realm (§1.2), admitted by the rate limiter (§1.9), replayed when
its ``requestid`` was seen (§1.8), then run. Errors use the Fault shape (§1.10).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.qbo import sales, wire
from tests.emulators.qbo.batch import run_batch
from tests.emulators.qbo.changes import run_cdc
from tests.emulators.qbo.clock import EmulatorClock, ScaledClock, stamp
from tests.emulators.qbo.company import Company
from tests.emulators.qbo.faults import Faults, QboFault
from tests.emulators.qbo.limits import Limiter, LimitSettings, Throttled
from tests.emulators.qbo.oauth import OAuthServer
from tests.emulators.qbo.query import run_query

TOKEN_PATH = "/oauth2/v1/tokens/bearer"
_COMPANY_PATH = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<rest>.+)$")
_ENTITIES = {"customer": "Customer", "invoice": "Invoice", "item": "Item", "payment": "Payment"}
_ENTITIES["vendor"] = "Vendor"
MAX_REQUEST_ID = 50  # §1.8: 50 characters, or 36 for batch
MAX_BATCH_REQUEST_ID = 36


@dataclass(frozen=True, slots=True)
class EmulatorRequest:
    """One HTTP request, transport-neutral; header names lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""


@dataclass(slots=True)
class EmulatorResponse:
    """One answer; ``drop`` means: commit, then close the connection without answering (R1)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    drop: bool = False


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a user's consent gives an app for one realm."""

    realm_id: str
    client_id: str
    client_secret: str
    refresh_token: str


@dataclass(slots=True)
class ApiStats:
    """Calls by kind, for assertions and the benchmark."""

    calls: dict[str, int] = field(default_factory=dict)
    minor_versions: set[str] = field(default_factory=set)
    without_minor_version: int = 0
    replays: int = 0
    dropped: int = 0
    request_ids: list[str] = field(default_factory=list)

    def count(self, kind: str) -> None:
        """Count one call of ``kind``."""
        self.calls[kind] = self.calls.get(kind, 0) + 1


class QboEmulator:
    """QuickBooks Online in one object: use it through ``mock_transport`` or ``EmulatorServer``."""

    def __init__(
        self,
        *,
        clock: EmulatorClock | None = None,
        limits: LimitSettings | None = None,
        realm_id: str = "9130",
        verifier_token: str = "emulator-verifier-token",
    ) -> None:
        self.clock: EmulatorClock = clock or ScaledClock()
        self.journal: list[str] = []
        self.oauth = OAuthServer(self.clock, journal=self.journal)
        self.client_id, self.client_secret = self.oauth.register_app()
        self.limit_settings = limits or LimitSettings()
        self.faults = Faults()
        self.verifier_token = verifier_token
        self.realm_id = realm_id
        self.companies: dict[str, Company] = {}
        self.limiters: dict[str, Limiter] = {}
        self.stats = ApiStats()
        self._replays: dict[tuple[str, str], EmulatorResponse] = {}
        self._lock = threading.Lock()
        self.add_company(realm_id)

    # -- set-up ----------------------------------------------------------------------------

    def add_company(self, realm_id: str) -> Company:
        """Create another realm."""
        company = Company(realm_id, self.clock)
        self.companies[realm_id] = company
        self.limiters[realm_id] = Limiter(self.clock, self.limit_settings)
        return company

    @property
    def company(self) -> Company:
        """The default realm's company."""
        return self.companies[self.realm_id]

    def authorise(self, realm_id: str | None = None) -> Credentials:
        """The user connects the app to a realm: a fresh refresh token for it."""
        realm = realm_id or self.realm_id
        refresh = self.oauth.authorise(realm, self.client_id)
        return Credentials(realm, self.client_id, self.client_secret, refresh)

    def seed(
        self, entity: str, body: dict[str, Any], realm_id: str | None = None
    ) -> dict[str, Any]:
        """Create an object directly (what a person does in the QuickBooks UI)."""
        company = self.companies[realm_id or self.realm_id]
        return sales.run(company, entity, "create", body)

    def change(
        self, entity: str, identifier: str, fields: dict[str, Any], realm_id: str | None = None
    ) -> dict[str, Any]:
        """A person edits an object in the UI (bumps its SyncToken)."""
        company = self.companies[realm_id or self.realm_id]
        current = company.get(entity, identifier)
        body = {"Id": identifier, "SyncToken": current["SyncToken"], "sparse": True, **fields}
        return sales.run(company, entity, "update", body)

    # -- the service -----------------------------------------------------------------------

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer one request."""
        if request.path == TOKEN_PATH and request.method == "POST":
            self.stats.count("token")
            status, payload = self.oauth.token_endpoint(request.headers, request.body)
            return EmulatorResponse(status, wire.dumps(payload))
        match = _COMPANY_PATH.match(request.path)
        if match is None or match["realm"] not in self.companies:
            return self._fault(QboFault("404", "Not found", request.path, status=404))
        realm, rest = match["realm"], match["rest"]
        reason = self.oauth.check_bearer(request.headers.get("authorization"), realm)
        if reason is not None:
            return self._unauthorised(reason)
        self.journal.append(f"api:{request.method} {rest}")
        limiter = self.limiters[realm]
        try:
            with limiter.admit(batch=rest == "batch"):
                return self._admitted(request, self.companies[realm], rest)
        except Throttled as throttled:
            headers = {"content-type": "application/json"}
            if throttled.retry_after_real is not None:
                headers["retry-after"] = f"{throttled.retry_after_real:.3f}"
            return EmulatorResponse(429, self._fault_body(throttled), headers)

    def _admitted(self, request: EmulatorRequest, company: Company, rest: str) -> EmulatorResponse:
        faults = self.faults
        storm = faults.take_storm(self.clock.elapsed(), request.path)
        if storm is not None:
            wait = storm / self.clock.scale
            headers = {"content-type": "application/json", "retry-after": f"{wait:.3f}"}
            return EmulatorResponse(429, self._fault_body(Throttled("storm", wait)), headers)
        if faults.server_error() or faults.in_outage(self.clock.elapsed(), request.path):
            fault = QboFault(
                "10000",
                "An application error has occurred",
                "",
                status=faults.server_error_status,
                kind="SystemFault",
            )
            return self._fault(fault)
        version = request.query.get("minorversion")
        if version is None:
            self.stats.without_minor_version += 1
        else:
            self.stats.minor_versions.add(version)
        request_id = request.query.get("requestid")
        if request_id is not None:
            self.stats.request_ids.append(request_id)
            limit = MAX_BATCH_REQUEST_ID if rest == "batch" else MAX_REQUEST_ID
            if len(request_id) > limit:
                return self._fault(
                    QboFault(
                        "6000",
                        "A business validation error has occurred",
                        f"requestid is longer than {limit} characters",
                    )
                )
            with self._lock:
                replay = self._replays.get((company.realm_id, request_id))
            if replay is not None:
                self.stats.replays += 1
                answer = EmulatorResponse(replay.status, replay.body, dict(replay.headers))
                return self._maybe_drop(request, answer)
        answer = self._dispatch(request, company, rest)
        if request_id is not None and answer.status < 500:
            with self._lock:
                self._replays[(company.realm_id, request_id)] = answer
        if request.method == "POST" and rest != "query":
            return self._maybe_drop(request, answer)
        return answer

    def _maybe_drop(self, request: EmulatorRequest, answer: EmulatorResponse) -> EmulatorResponse:
        if request.method == "POST" and self.faults.take_drop(request.path, request.body):
            self.stats.dropped += 1
            return EmulatorResponse(answer.status, answer.body, answer.headers, drop=True)
        return answer

    def _dispatch(self, request: EmulatorRequest, company: Company, rest: str) -> EmulatorResponse:
        """Run the request, then let the rest of its sampled response time pass (A4.2.3).

        The service's own work is part of its latency, so the emulator's processing time
        (scaled by k) counts toward the sample instead of adding to it.
        """
        latency = self.faults.latency
        started = time.perf_counter()
        answer = self._run(request, company, rest)
        if latency is not None:
            items = request.body.count(b'"bId"') if rest == "batch" else 1
            spent = (time.perf_counter() - started) * self.clock.scale
            self.clock.wait(max(0.0, latency.sample(max(1, items)) - spent))
        return answer

    def _run(self, request: EmulatorRequest, company: Company, rest: str) -> EmulatorResponse:
        try:
            if rest == "batch" and request.method == "POST":
                self.stats.count("batch")
                body = wire.loads(request.body)
                answers = run_batch(
                    company,
                    body,
                    self.faults,
                    max_items=self.limit_settings.max_batch_items,
                    with_request_id="requestid" in request.query,
                )
                return self._ok({"BatchItemResponse": answers})
            if rest == "query":
                self.stats.count("query")
                text = request.query.get("query") or request.body.decode("utf-8")
                return self._ok({"QueryResponse": run_query(company, text)})
            if rest == "cdc" and request.method == "GET":
                self.stats.count("cdc")
                result = run_cdc(
                    company,
                    request.query.get("entities", ""),
                    request.query.get("changedSince", ""),
                )
                return self._ok({"CDCResponse": result})
            if rest == f"companyinfo/{company.realm_id}":
                self.stats.count("companyinfo")
                info = {"CompanyName": company.name, "Id": "1", "Country": "US"}
                return self._ok({"CompanyInfo": info})
            return self._entity(request, company, rest)
        except QboFault as fault:
            return self._fault(fault)
        except ValueError as exc:  # malformed JSON
            return self._fault(
                QboFault("2010", "Request has invalid or unsupported property", str(exc))
            )

    def _entity(self, request: EmulatorRequest, company: Company, rest: str) -> EmulatorResponse:
        parts = rest.split("/")
        entity = _ENTITIES.get(parts[0])
        if entity is None:
            raise QboFault("404", "Unsupported resource", rest, status=404)
        if request.method == "GET" and len(parts) == 2:
            self.stats.count("read")
            return self._ok({entity: company.get(entity, parts[1])})
        if request.method != "POST" or len(parts) != 1:
            raise QboFault("405", "Unsupported Operation", f"{request.method} {rest}", status=405)
        self.stats.count("write")
        body = wire.loads(request.body)
        operation = request.query.get("operation") or ("update" if body.get("Id") else "create")
        if request.query.get("include") == "void":
            operation = "void"
        fault = self.faults.item_fault(body)
        if fault is not None:
            raise fault
        return self._ok({entity: sales.run(company, entity, operation, body)})

    # -- answers ---------------------------------------------------------------------------

    def _ok(self, payload: dict[str, Any]) -> EmulatorResponse:
        payload["time"] = stamp(self.clock.now())
        return EmulatorResponse(200, wire.dumps(payload))

    def _fault_body(self, fault: QboFault) -> bytes:
        return wire.dumps({"Fault": fault.body(), "time": stamp(self.clock.now())})

    def _fault(self, fault: QboFault) -> EmulatorResponse:
        return EmulatorResponse(fault.status, self._fault_body(fault))

    def _unauthorised(self, reason: str) -> EmulatorResponse:
        # §1.10: a 401 body is often not the usual Fault JSON (lower-case keys here, ⚠ shape).
        body = {
            "fault": {
                "error": [
                    {
                        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                        "detail": reason,
                        "code": "3200",
                    }
                ],
                "type": "AUTHENTICATION",
            },
            "time": stamp(self.clock.now()),
        }
        headers = {
            "content-type": "application/json",
            "www-authenticate": 'Bearer realm="Intuit", error="invalid_token"',
        }
        return EmulatorResponse(401, wire.dumps(body), headers)
