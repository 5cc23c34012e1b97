"""The one HTTP client of ledgerlink: timeouts, budgets, retries, error table, auth, redaction."""

from ledgerlink.connectors.http.auth import OAuth2RefreshAuth, OAuth2Settings, TokenSet
from ledgerlink.connectors.http.budget import BudgetSpec, RateBudget, RateBudgets, RateLimit
from ledgerlink.connectors.http.client import CallStats, HttpClient
from ledgerlink.connectors.http.errors import HTTP_ERRORS, ErrorRule, ErrorTable
from ledgerlink.connectors.http.redact import RedactingFilter, Redactor
from ledgerlink.connectors.http.retry import RetryPolicy, parse_retry_after
from ledgerlink.connectors.http.wire import dumps_exact, loads_exact

__all__ = [
    "HTTP_ERRORS",
    "BudgetSpec",
    "CallStats",
    "ErrorRule",
    "ErrorTable",
    "HttpClient",
    "OAuth2RefreshAuth",
    "OAuth2Settings",
    "RateBudget",
    "RateBudgets",
    "RateLimit",
    "RedactingFilter",
    "Redactor",
    "RetryPolicy",
    "TokenSet",
    "dumps_exact",
    "loads_exact",
    "parse_retry_after",
]
