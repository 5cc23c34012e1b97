"""OAuth2 refresh as an ``httpx.Auth`` flow: one refresh in flight, rotated tokens stored first."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass, replace
from typing import Any

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from ledgerlink.connectors.base import TokenStore
from ledgerlink.connectors.http.redact import Redactor
from ledgerlink.connectors.http.wire import loads_exact
from ledgerlink.crashpoints import crashpoint
from ledgerlink.errors import ConnectionFailedError, ErrorContext, TransientError

log = logging.getLogger("ledgerlink.http.auth")

_REJECTED_GRANT = frozenset(("invalid_grant", "invalid_token", "unauthorized_client"))


@dataclass(frozen=True, slots=True)
class TokenSet:
    """The tokens of one connection; ``expires_at`` is epoch seconds of the access token's end."""

    access_token: str = ""
    refresh_token: str = ""
    expires_at: float = 0.0
    seed: str = ""

    def usable(self, now: float, leeway: float) -> bool:
        """True when the access token exists and outlives ``leeway`` seconds from ``now``."""
        return bool(self.access_token) and (self.expires_at == 0 or now < self.expires_at - leeway)

    def to_store(self) -> dict[str, str]:
        """The form kept in a ``TokenStore`` (strings only)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": repr(self.expires_at),
            "seed": self.seed,
        }

    @classmethod
    def from_store(cls, data: dict[str, str]) -> TokenSet:
        """Read the stored form back; unknown or missing fields become empty."""
        try:
            expires_at = float(data.get("expires_at") or 0)
        except ValueError:
            expires_at = 0.0
        return cls(
            access_token=data.get("access_token", ""),
            refresh_token=data.get("refresh_token", ""),
            expires_at=expires_at,
            seed=data.get("seed", ""),
        )


@dataclass(frozen=True, slots=True)
class OAuth2Settings:
    """Where and as whom to refresh, and what to tell the user when the grant is gone."""

    connection: str
    system: str
    token_url: str
    client_id: str
    client_secret: str
    refresh_token: str = ""
    access_token: str = ""
    auth_method: str = "client_secret_basic"
    leeway: float = 60.0
    reauthorise_hint: str = "Authorise ledgerlink again and put the new refresh token in the config"


def seed_of(refresh_token: str) -> str:
    """A fingerprint of the configured refresh token: tells a re-authorisation from a rotation."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:16] if refresh_token else ""


class OAuth2RefreshAuth(httpx.Auth):
    """Bearer auth that refreshes the access token when it expires or a call answers 401.

    Only one refresh runs at a time (a lock); a caller that waited for it reuses its result. The
    rotated token set is saved through the ``TokenStore`` before the request that needed it is
    sent, so a crash can never leave us holding only a refresh token the vendor has revoked. A
    refresh the authorisation server refuses (``invalid_grant``) raises ``ConnectionFailedError``
    telling the user how to authorise again. Stored tokens win over the configured refresh token
    unless the configured one changed since (the user authorised again).
    """

    requires_response_body = True

    def __init__(
        self,
        settings: OAuth2Settings,
        store: TokenStore | None = None,
        *,
        clock: Callable[[], float] = time.time,
        redactor: Redactor | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self._redactor = redactor or Redactor()
        self._redactor.add(settings.client_secret, settings.refresh_token, settings.access_token)
        self._client_auth: Any = ClientAuth(
            settings.client_id, settings.client_secret, settings.auth_method
        )
        self._lock = threading.Lock()
        self._tokens: TokenSet | None = None
        self.refreshes = 0

    # -- the flow -------------------------------------------------------------------------

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Drive ``auth_flow``, reading each response body and always closing the flow.

        Closing matters: a transport error during a refresh must release the refresh lock.
        """
        flow = self.auth_flow(request)
        try:
            outgoing = next(flow)
            while True:
                response = yield outgoing
                response.read()
                try:
                    outgoing = flow.send(response)
                except StopIteration:
                    return
        finally:
            flow.close()

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:  # pragma: no cover
        """Not supported: the refresh lock is a thread lock."""
        raise RuntimeError("OAuth2RefreshAuth is for the synchronous httpx.Client only")
        yield request  # makes this an async generator, as httpx expects

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The generator httpx drives: sign, send, and on a 401 refresh and resend once."""
        tokens = self._current()
        if not tokens.usable(self._clock(), self._settings.leeway):
            tokens = yield from self._refresh(tokens)
        request.headers["Authorization"] = f"Bearer {tokens.access_token}"
        response = yield request
        if response.status_code == 401 and self._can_refresh(tokens):
            tokens = yield from self._refresh(tokens)
            request.headers["Authorization"] = f"Bearer {tokens.access_token}"
            yield request

    # -- tokens ---------------------------------------------------------------------------

    def _current(self) -> TokenSet:
        with self._lock:
            if self._tokens is None:
                self._tokens = self._initial()
            return self._tokens

    def _initial(self) -> TokenSet:
        settings = self._settings
        seed = seed_of(settings.refresh_token)
        configured = TokenSet(settings.access_token, settings.refresh_token, 0.0, seed)
        stored = self._store.load(settings.connection) if self._store is not None else None
        if stored:
            tokens = TokenSet.from_store(stored)
            if tokens.seed == seed or not settings.refresh_token:
                self._redactor.add(tokens.access_token, tokens.refresh_token)
                return tokens
            log.info("%s: the configured refresh token changed; using it", settings.connection)
        return configured

    def _can_refresh(self, tokens: TokenSet) -> bool:
        return bool(tokens.refresh_token) or bool(self._current().refresh_token)

    def _refresh(self, stale: TokenSet) -> Generator[httpx.Request, httpx.Response, TokenSet]:
        with self._lock:
            current = self._tokens or stale
            if current is not stale and current.usable(self._clock(), self._settings.leeway):
                return current  # another caller refreshed while we waited for the lock
            if not current.refresh_token:
                raise self._rejected("there is no refresh token and the access token expired")
            response = yield self._refresh_request(current.refresh_token)
            fresh = self._parse(response, current)
            crashpoint("in-token-refresh")
            if self._store is not None:
                self._store.save(self._settings.connection, fresh.to_store())
            self._tokens = fresh
            self.refreshes += 1
            rotated = fresh.refresh_token != current.refresh_token
            log.info(
                "%s: access token refreshed%s",
                self._settings.connection,
                " (refresh token rotated and stored)" if rotated else "",
            )
            return fresh

    def _refresh_request(self, refresh_token: str) -> httpx.Request:
        body = prepare_token_request("refresh_token", refresh_token=refresh_token)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        url, headers, body = self._client_auth.prepare(
            "POST", self._settings.token_url, headers, body
        )
        return httpx.Request("POST", url, headers=headers, content=body.encode())

    def _parse(self, response: httpx.Response, current: TokenSet) -> TokenSet:
        try:
            payload = loads_exact(response.content) if response.content else {}
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        error = str(payload.get("error") or "")
        if response.status_code in (400, 401) and (error in _REJECTED_GRANT or not error):
            raise self._rejected(f"the authorisation server refused the refresh token ({error})")
        if response.status_code >= 400 or "access_token" not in payload:
            raise TransientError(
                f"refreshing the access token failed with HTTP {response.status_code}"
                + (f" ({error})" if error else ""),
                hint="ledgerlink retries; check the vendor's status page if it persists",
                context=ErrorContext(system=self._settings.system),
            )
        token = OAuth2Token(dict(payload))
        access = str(token["access_token"])
        refresh = str(token.get("refresh_token") or current.refresh_token)
        expires_in = token.get("expires_in")
        expires_at = self._clock() + float(expires_in) if expires_in is not None else 0.0
        self._redactor.add(access, refresh)
        return replace(current, access_token=access, refresh_token=refresh, expires_at=expires_at)

    def _rejected(self, message: str) -> ConnectionFailedError:
        return ConnectionFailedError(
            message,
            hint=self._settings.reauthorise_hint,
            context=ErrorContext(
                system=self._settings.system,
                location=self._settings.connection,
                vendor_code="invalid_grant",
            ),
        )
