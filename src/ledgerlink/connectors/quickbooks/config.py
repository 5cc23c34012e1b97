"""Configuration of a QuickBooks Online connection: company, OAuth app, URLs, limits and rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from ledgerlink.canonical.money import MINOR_UNITS
from ledgerlink.connectors.registry import ConnectorConfig

PRODUCTION_BASE_URL = "https://quickbooks.api.intuit.com/v3"
SANDBOX_BASE_URL = "https://sandbox-quickbooks.api.intuit.com/v3"
PRODUCTION_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105
MINIMUM_MINOR_VERSION = 75

Disambiguation = Literal["suffix", "email", "fail"]


class QuickBooksOnlineConfig(ConnectorConfig):
    """A QuickBooks Online company reached through an Intuit developer app (OAuth 2.0)."""

    type: Literal["quickbooks_online"] = Field(
        description="Connection type: QuickBooks Online through the Accounting API v3."
    )
    realm_id: str = Field(
        min_length=1,
        description="The company id (realm id) QuickBooks shows after you connect the app; it "
        "is part of every API path and a token works only for the company that authorised it.",
    )
    client_id: str = Field(min_length=1, description="Client ID of your Intuit developer app.")
    client_secret: SecretStr = Field(description="Client secret of your Intuit developer app.")
    refresh_token: SecretStr | None = Field(
        default=None,
        description="Refresh token from connecting the app to the company. ledgerlink stores "
        "each rotated refresh token in its encrypted state and uses that one from then on; put a "
        "new one here only after authorising again.",
    )
    access_token: SecretStr | None = Field(
        default=None,
        description="A pre-obtained access token (lives one hour). Without a refresh token, "
        "ledgerlink cannot renew it; meant for quick trials.",
    )
    base_url: str = Field(
        default=PRODUCTION_BASE_URL,
        description="API base URL ending in /v3. Use "
        f"{SANDBOX_BASE_URL} for a sandbox company; tests point it at the emulator.",
    )
    token_url: str = Field(
        default=PRODUCTION_TOKEN_URL, description="Intuit's OAuth 2.0 token endpoint."
    )
    minor_version: int = Field(
        default=MINIMUM_MINOR_VERSION,
        ge=MINIMUM_MINOR_VERSION,
        description="The `minorversion` sent on every call; Intuit treats anything below 75 as 75.",
    )
    currency: str = Field(
        default="USD",
        description="ISO 4217 code of the company's home currency, used when a record has none.",
    )
    default_item: str = Field(
        default="Services",
        min_length=1,
        max_length=100,
        description="Name of the service item an invoice line refers to when the line has no "
        "SKU. Lines with a SKU refer to the item named like the SKU.",
    )
    income_account: str | None = Field(
        default=None,
        description="Id of the income account for items ledgerlink creates when a line's item "
        "does not exist yet. Without it, a missing item fails that invoice with a clear message.",
    )
    tax_code: str | None = Field(
        default=None,
        description="TaxCodeRef for taxed lines: `TAX` in US companies with automated sales "
        "tax, else the tax code's Id. Unset: lines carry no tax code.",
    )
    exempt_tax_code: str | None = Field(
        default=None,
        description="TaxCodeRef for untaxed lines (`NON` in US companies).",
    )
    txn_tax_code: str | None = Field(
        default=None,
        description="Id of the tax code (rate) applied to the whole invoice; with it, "
        "ledgerlink sends the invoice's tax total. An invoice with tax but no tax code "
        "configured fails rather than losing its tax.",
    )
    disambiguate: Disambiguation = Field(
        default="suffix",
        description="What to do when a new customer's name is taken in QuickBooks by another "
        "party (customer names must be unique): `suffix` appends ' (2)', ' (3)' ...; `email` "
        "appends the e-mail address; `fail` dead-letters the customer. A customer with the same "
        "e-mail or tax id is the same party and is linked instead.",
    )
    reactivate_inactive: bool = Field(
        default=False,
        description="Make an inactive customer or item active again when an invoice needs it. "
        "Off: such an invoice fails with the reason.",
    )
    batch_size: int = Field(
        default=30,
        ge=1,
        le=30,
        description="Writes per batch request (QuickBooks allows at most 30).",
    )
    page_size: int = Field(
        default=1000,
        ge=1,
        le=1000,
        description="Rows per query page (MAXRESULTS, at most 1000).",
    )
    max_pages: int = Field(
        default=1000,
        ge=1,
        description="Safety cap on pages per read; reaching it stops the read without moving "
        "its cursor, so nothing is skipped.",
    )
    requests_per_minute: int = Field(
        default=500,
        ge=1,
        description="Request budget per minute for this company (QuickBooks allows 500). "
        "Lower it when other apps use the same company.",
    )
    batch_requests_per_minute: int = Field(
        default=40,
        ge=1,
        description="Batch-request budget per minute (QuickBooks allows 40 per app and company).",
    )
    max_concurrent_requests: int = Field(
        default=10,
        ge=1,
        description="Requests in flight at once (QuickBooks allows 10 per app and company).",
    )
    timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        le=300,
        description="Seconds to wait for QuickBooks to answer one request (it stops at 120).",
    )
    max_attempts: int = Field(
        default=4,
        ge=1,
        le=10,
        description="Tries per request on throttling, time-outs and server errors, first included.",
    )
    throttle_wait_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds to wait after a 429 that does not say how long (Intuit advises 60).",
    )
    webhook_verifier_token: SecretStr | None = Field(
        default=None,
        description="Verifier token of the app's webhook, to check `intuit-signature`.",
    )

    @field_validator("currency")
    @classmethod
    def _valid_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in MINOR_UNITS:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code such as USD or EUR")
        return code

    @field_validator("base_url", "token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return url

    @model_validator(mode="after")
    def _has_credentials(self) -> QuickBooksOnlineConfig:
        if self.refresh_token is None and self.access_token is None:
            raise ValueError(
                "set `refresh_token` (from connecting the app to the company) or `access_token`"
            )
        return self
