"""QuickBooks Online over the shared HTTP client: paths, minorversion, requestid, Faults, auth."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection
from typing import Any

import httpx

from ledgerlink.connectors.base import TokenStore
from ledgerlink.connectors.http import (
    HTTP_ERRORS,
    BudgetSpec,
    ErrorRule,
    HttpClient,
    OAuth2RefreshAuth,
    OAuth2Settings,
    RateBudgets,
    RateLimit,
    Redactor,
    RetryPolicy,
    dumps_exact,
    loads_exact,
)
from ledgerlink.connectors.quickbooks.config import QuickBooksOnlineConfig
from ledgerlink.connectors.quickbooks.dto import Fault, FaultError
from ledgerlink.errors import (
    ConflictError,
    ConnectionFailedError,
    ErrorContext,
    FatalError,
    RateLimitedError,
    RecordError,
    TransientError,
)

SYSTEM = "quickbooks_online"
BATCH_REQUEST_ID_MAX = 36  # requestid limits: 50 characters, 36 on a batch
REQUEST_ID_MAX = 50

# What each QuickBooks answer means for the caller; codes first, then the generic HTTP rows.
QBO_ERRORS = HTTP_ERRORS.extended(
    ErrorRule(
        RateLimitedError,
        code="3001",
        retry=True,
        message="QuickBooks is throttling requests",
        hint="ledgerlink waits and retries; lower `requests_per_minute` if other apps share "
        "the company",
    ),
    ErrorRule(
        ConflictError,
        code="5010",
        message="the record changed in QuickBooks after ledgerlink read it (stale SyncToken)",
        hint="Run the sync again; if it keeps changing, decide which side wins",
    ),
    ErrorRule(
        RecordError,
        code="6240",
        message="the name is already used by another customer, vendor or employee",
        hint="Rename one of them, or set `disambiguate: suffix` on the connection",
    ),
    ErrorRule(
        RecordError,
        code="610",
        message="a customer or item the record refers to is inactive or missing in QuickBooks",
        hint="Make it active in QuickBooks, or set `reactivate_inactive: true`",
    ),
    ErrorRule(
        RecordError,
        code="2500",
        message="a referenced customer, item or account does not exist in QuickBooks",
    ),
    ErrorRule(
        RecordError,
        code="6070",
        message="QuickBooks found a line whose amount is not quantity × unit price",
    ),
    ErrorRule(
        FatalError,
        code="6190",
        message="the QuickBooks company's subscription is not active",
        hint="Renew the QuickBooks subscription, then run the sync again",
    ),
    ErrorRule(
        ConnectionFailedError,
        code="120",
        message="QuickBooks refused the authorisation",
        hint="Authorise ledgerlink again for this company",
    ),
    ErrorRule(TransientError, code="10000", retry=True, message="QuickBooks had an internal error"),
)


def fault_of(payload: Any) -> Fault | None:
    """The Fault in a response body, also in the lower-case form some 401s use."""
    if not isinstance(payload, dict):
        return None
    raw = payload.get("Fault")
    if isinstance(raw, dict):
        return Fault.model_validate(raw)
    lower = payload.get("fault")
    if isinstance(lower, dict):
        errors = [
            FaultError(
                Message=str(e.get("message", "")),
                Detail=str(e.get("detail", "")),
                code=str(e.get("code", "")),
            )
            for e in lower.get("error") or []
            if isinstance(e, dict)
        ]
        return Fault(Error=errors, type=lower.get("type"))
    return None


def vendor_code(response: httpx.Response) -> tuple[str | None, str]:
    """The Fault code and detail of an error response (for the HTTP client's error table)."""
    try:
        fault = fault_of(loads_exact(response.content)) if response.content else None
    except ValueError:
        fault = None
    if fault is None:
        return None, f"HTTP {response.status_code} {response.reason_phrase}".strip()
    return fault.code or None, fault.describe()


def request_id(*parts: str, limit: int = REQUEST_ID_MAX) -> str:
    """A ``requestid`` derived from the intent: same parts, same id, within QuickBooks' limit."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[: min(limit, 32)]


def quote(value: str) -> str:
    """A string literal for the query language (single quotes, backslash escapes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def in_list(field: str, values: Collection[str]) -> str:
    """``field IN ('a', 'b')`` with every value quoted."""
    return f"{field} IN ({', '.join(quote(v) for v in values)})"


def select(entity: str, *conditions: str, tail: str = "") -> str:
    """A ``SELECT *`` statement; every literal in ``conditions`` was made by ``quote``."""
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT * FROM {entity}{where}{tail}"  # noqa: S608 - not SQL; literals are quoted


def build_http(
    config: QuickBooksOnlineConfig,
    *,
    connection: str,
    tokens: TokenStore | None,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    budgets: RateBudgets | None = None,
) -> tuple[HttpClient, OAuth2RefreshAuth]:
    """The HTTP client of one connection: OAuth2 refresh, budgets per realm, QBO's error table.

    ``budgets`` lets several connections (or workers) to the same company share one budget;
    by default the connection gets its own, sized from the config.
    """
    redactor = Redactor()
    settings = OAuth2Settings(
        connection=connection,
        system=SYSTEM,
        token_url=config.token_url,
        client_id=config.client_id,
        client_secret=config.client_secret.get_secret_value(),
        refresh_token=config.refresh_token.get_secret_value() if config.refresh_token else "",
        access_token=config.access_token.get_secret_value() if config.access_token else "",
        reauthorise_hint=(
            "QuickBooks no longer accepts ledgerlink's authorisation (the app was disconnected, "
            "or the refresh token expired or was replaced). Connect the app to the company again "
            "(Intuit's OAuth 2.0 Playground or your app's connect flow), put the new refresh "
            f"token in `refresh_token` of connection {connection!r}, then run `ledgerlink check`"
        ),
    )
    auth = OAuth2RefreshAuth(settings, tokens, clock=clock, redactor=redactor)
    budgets = budgets or RateBudgets(
        BudgetSpec(
            limits={
                "requests": RateLimit(config.requests_per_minute, 60.0),
                "batch": RateLimit(config.batch_requests_per_minute, 60.0),
            },
            concurrency=config.max_concurrent_requests,
        ),
        clock=monotonic,
        sleep=sleep,
    )
    http = HttpClient(
        system=SYSTEM,
        base_url=config.base_url,
        timeout=httpx.Timeout(config.timeout_seconds, connect=min(10.0, config.timeout_seconds)),
        errors=QBO_ERRORS,
        vendor_code=vendor_code,
        auth=auth,
        transport=transport,
        budgets=budgets,
        retry=RetryPolicy(attempts=config.max_attempts),
        throttle_wait=config.throttle_wait_seconds,
        headers={"Accept": "application/json", "User-Agent": "ledgerlink"},
        redactor=redactor,
        sleep=sleep,
    )
    return http, auth


class QboApi:
    """The calls the connector makes, each with ``minorversion`` and the realm in the path."""

    def __init__(self, config: QuickBooksOnlineConfig, http: HttpClient) -> None:
        self.config = config
        self.http = http

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        batch: bool = False,
        label: str = "",
        context: ErrorContext | None = None,
    ) -> dict[str, Any]:
        context = context or ErrorContext(system=SYSTEM)
        response = self.http.request(
            method,
            f"/company/{self.config.realm_id}/{path}",
            params={"minorversion": str(self.config.minor_version), **(params or {})},
            content=body,
            headers={"Content-Type": content_type} if body is not None else None,
            budget_key=self.config.realm_id,
            buckets=("requests", "batch") if batch else ("requests",),
            idempotent=True,  # reads, and writes that carry a requestid
            context=context,
            label=label,
        )
        try:
            payload = loads_exact(response.content)
        except ValueError:
            raise TransientError("QuickBooks answered with something that is not JSON") from None
        if not isinstance(payload, dict):
            raise TransientError("QuickBooks answered with an unexpected JSON shape")
        fault = fault_of(payload)
        if fault is not None:  # HTTP 200 can still carry a Fault
            rule = QBO_ERRORS.rule_for(400, fault.code or None)
            raise rule.build(fault.describe(), context=context)
        return payload

    def company_info(self) -> dict[str, Any]:
        """``GET companyinfo/{realm}``: proves the token and the realm."""
        payload = self._call("GET", f"companyinfo/{self.config.realm_id}", label="companyinfo")
        info = payload.get("CompanyInfo")
        return info if isinstance(info, dict) else {}

    def query(self, statement: str) -> tuple[dict[str, Any], str]:
        """``POST query`` (``application/text``): the QueryResponse and the server time."""
        payload = self._call(
            "POST",
            "query",
            body=statement.encode("utf-8"),
            content_type="application/text",
            label="query",
        )
        result = payload.get("QueryResponse")
        return (result if isinstance(result, dict) else {}), str(payload.get("time") or "")

    def cdc(self, entities: str, changed_since: str) -> tuple[list[dict[str, Any]], str]:
        """``GET cdc``: the QueryResponse list of the first CDCResponse, and the server time."""
        payload = self._call(
            "GET", "cdc", params={"entities": entities, "changedSince": changed_since}, label="cdc"
        )
        responses = payload.get("CDCResponse") or [{}]
        first = responses[0] if isinstance(responses, list) and responses else {}
        found = first.get("QueryResponse") if isinstance(first, dict) else None
        return (found if isinstance(found, list) else []), str(payload.get("time") or "")

    def batch(self, items: list[dict[str, Any]], request: str) -> list[dict[str, Any]]:
        """``POST batch?requestid=``: one answer per item (entity, QueryResponse or Fault)."""
        payload = self._call(
            "POST",
            "batch",
            params={"requestid": request[:BATCH_REQUEST_ID_MAX]},
            body=dumps_exact({"BatchItemRequest": items}),
            batch=True,
            label="batch",
        )
        answers = payload.get("BatchItemResponse")
        return [a for a in answers if isinstance(a, dict)] if isinstance(answers, list) else []
