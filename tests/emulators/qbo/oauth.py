"""The OAuth 2.0 token endpoint and bearer checks (accounting-systems.md §1.2).

Access tokens live 1 hour and refresh tokens 100 days (rolling), both in emulated time and reported
in real seconds (A4.2.2, A4.2.4). Every refresh rotates the refresh token and the used one stops
working, the strict reading of "rotation" (B2 R11); a revoked or rotated-away refresh token gets
``invalid_grant``. ``rotation_grace`` imitates what Intuit publishes instead: "Your previous
refresh tokens expire 24 hours after you receive a new one" (intuit/oauth-jsclient README,
"Refresh access_token"; also Intuit's authorization FAQ, "stale refresh tokens expire after 24
hours"). Set it to ``INTUIT_ROTATION_GRACE`` to test against the published behaviour. A token
only works for the realm that authorised it (§1.2). The token endpoint accepts
``client_secret_basic`` and ``client_secret_post`` (§1.2).
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from tests.emulators.qbo.clock import EmulatorClock

ACCESS_SECONDS = 3600.0
REFRESH_SECONDS = 100 * 24 * 3600.0
INTUIT_ROTATION_GRACE = 24 * 3600.0


@dataclass(slots=True)
class Grant:
    """One refresh token: whose, for which realm, until when (emulated seconds)."""

    realm_id: str
    client_id: str
    expires: float
    active: bool = True


@dataclass
class OAuthServer:
    """Token endpoint state: registered apps, refresh tokens, access tokens, and a journal."""

    clock: EmulatorClock
    journal: list[str] = field(default_factory=list)
    clients: dict[str, str] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    access: dict[str, tuple[str, float]] = field(default_factory=dict)
    refreshes: int = 0
    rotation_grace: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register_app(self, client_id: str = "ledgerlink-app") -> tuple[str, str]:
        """A developer app: its client id and secret."""
        secret = secrets.token_urlsafe(24)
        self.clients[client_id] = secret
        return client_id, secret

    def authorise(self, realm_id: str, client_id: str) -> str:
        """What the user's consent in the browser yields: a refresh token for ``realm_id``."""
        token = "RT1-" + secrets.token_urlsafe(32)
        with self._lock:
            self.grants[token] = Grant(realm_id, client_id, self.clock.elapsed() + REFRESH_SECONDS)
        return token

    def issue_access(self, realm_id: str) -> str:
        """An access token minted directly (for tests that start with one)."""
        token = "AT-" + secrets.token_urlsafe(32)
        with self._lock:
            self.access[token] = (realm_id, self.clock.elapsed() + ACCESS_SECONDS)
        return token

    def revoke_all(self, realm_id: str) -> None:
        """Fault hook: the user disconnected the app; every token of the realm stops working."""
        with self._lock:
            for grant in self.grants.values():
                if grant.realm_id == realm_id:
                    grant.active = False
            for token, (realm, _) in list(self.access.items()):
                if realm == realm_id:
                    del self.access[token]

    def expire_access_tokens(self) -> None:
        """Fault hook: every access token expires now (as if an hour passed)."""
        with self._lock:
            self.access.clear()

    def token_endpoint(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """``POST /oauth2/v1/tokens/bearer`` with ``grant_type=refresh_token``."""
        form = dict(parse_qsl(body.decode("utf-8")))
        client_id, secret = self._client_credentials(headers, form)
        if client_id is None or self.clients.get(client_id) != secret:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            now = self.clock.elapsed()
            grant = self.grants.get(form.get("refresh_token", ""))
            if (
                grant is None
                or not grant.active
                or grant.client_id != client_id
                or grant.expires < now
            ):
                self.journal.append("token:invalid_grant")
                return 400, {"error": "invalid_grant"}
            if self.rotation_grace > 0:  # rotated: the used token works a while longer
                grant.expires = min(grant.expires, now + self.rotation_grace)
            else:
                grant.active = False  # rotated: the used token stops working
            refresh = "RT1-" + secrets.token_urlsafe(32)
            self.grants[refresh] = Grant(grant.realm_id, client_id, now + REFRESH_SECONDS)
            access = "AT-" + secrets.token_urlsafe(32)
            self.access[access] = (grant.realm_id, now + ACCESS_SECONDS)
            self.refreshes += 1
            self.journal.append("token:refresh")
        scale = self.clock.scale
        return 200, {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": round(ACCESS_SECONDS / scale, 3),
            "x_refresh_token_expires_in": round(REFRESH_SECONDS / scale, 3),
        }

    def check_bearer(self, authorization: str | None, realm_id: str) -> str | None:
        """None when the bearer token is valid for ``realm_id``, else why it is not."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return "no bearer token"
        token = authorization.split(" ", 1)[1].strip()
        with self._lock:
            found = self.access.get(token)
        if found is None:
            return "unknown or revoked token"
        realm, expires = found
        if expires < self.clock.elapsed():
            return "Token expired"
        if realm != realm_id:
            return "the token belongs to another company"
        return None

    @staticmethod
    def _client_credentials(
        headers: dict[str, str], form: dict[str, str]
    ) -> tuple[str | None, str | None]:
        header = headers.get("authorization", "")
        if header.lower().startswith("basic "):
            decoded = base64.b64decode(header.split(" ", 1)[1]).decode("utf-8")
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
        return form.get("client_id"), form.get("client_secret")
