"""OAuth2 refresh as an httpx auth flow: expiry, 401, rotation stored first, one refresh at once."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import parse_qsl

import httpx
import pytest

from ledgerlink.connectors.http import OAuth2RefreshAuth, OAuth2Settings
from ledgerlink.connectors.http.auth import seed_of
from ledgerlink.errors import ConnectionFailedError
from tests.emulators.qbo.harness import MemoryTokenStore

TOKEN_URL = "https://auth.test/token"


class TokenServer:
    """A tiny authorisation server plus API: rotates refresh tokens, logs every event."""

    def __init__(self, journal: list[str], *, delay: float = 0.0) -> None:
        self.journal = journal
        self.valid_refresh = {"RT-0"}
        self.valid_access: set[str] = set()
        self.issued = 0
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return self._token(request)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.journal.append(f"api:{bearer}")
        if bearer not in self.valid_access:
            return httpx.Response(401)
        return httpx.Response(200, json={"ok": True})

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.read().decode()))
        assert request.headers["Authorization"].startswith("Basic ")  # client_secret_basic
        time.sleep(self.delay)
        with self.lock:
            used = form.get("refresh_token", "")
            if form.get("grant_type") != "refresh_token" or used not in self.valid_refresh:
                self.journal.append("token:invalid_grant")
                return httpx.Response(400, json={"error": "invalid_grant"})
            self.valid_refresh.discard(used)
            self.issued += 1
            access, refresh = f"AT-{self.issued}", f"RT-{self.issued}"
            self.valid_refresh.add(refresh)
            self.valid_access.add(access)
            self.journal.append(f"token:{refresh}")
        body = {"access_token": access, "refresh_token": refresh, "expires_in": 3600}
        return httpx.Response(200, content=json.dumps(body).encode())


def setup(
    *, delay: float = 0.0, refresh_token: str = "RT-0", now: list[float] | None = None
) -> tuple[httpx.Client, OAuth2RefreshAuth, TokenServer, MemoryTokenStore]:
    journal: list[str] = []
    server = TokenServer(journal, delay=delay)
    store = MemoryTokenStore(journal)
    clock = now if now is not None else [1_000_000.0]
    auth = OAuth2RefreshAuth(
        OAuth2Settings(
            connection="books",
            system="test",
            token_url=TOKEN_URL,
            client_id="cid",
            client_secret="csecret-long-enough",
            refresh_token=refresh_token,
            reauthorise_hint="Authorise again and set refresh_token",
        ),
        store,
        clock=lambda: clock[0],
    )
    http = httpx.Client(transport=httpx.MockTransport(server), auth=auth, timeout=5)
    return http, auth, server, store


def test_the_first_call_refreshes_and_stores_the_rotated_token_before_using_it() -> None:
    http, _, server, store = setup()
    assert http.get("https://api.test/x").status_code == 200
    assert server.journal == ["token:RT-1", "store:save", "api:AT-1"]
    assert store.saved["books"]["refresh_token"] == "RT-1"
    assert store.saved["books"]["access_token"] == "AT-1"


def test_an_expired_access_token_is_refreshed_before_the_call() -> None:
    now = [1_000_000.0]
    http, auth, server, _ = setup(now=now)
    http.get("https://api.test/x")
    now[0] += 3600 - 30  # inside the one-minute leeway
    http.get("https://api.test/x")
    assert auth.refreshes == 2
    assert server.journal[-3:] == ["token:RT-2", "store:save", "api:AT-2"]


def test_a_401_refreshes_once_and_resends() -> None:
    http, auth, server, _ = setup()
    http.get("https://api.test/x")
    server.valid_access.clear()  # the token was revoked server-side before it expired
    response = http.get("https://api.test/x")
    assert response.status_code == 200
    assert auth.refreshes == 2
    assert server.journal[-4:] == ["api:AT-1", "token:RT-2", "store:save", "api:AT-2"]


def test_concurrent_callers_share_a_single_refresh() -> None:
    http, auth, server, store = setup(delay=0.05)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(http.get("https://api.test/x").status_code))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 8
    assert auth.refreshes == 1
    assert server.issued == 1
    assert store.saves == 1


def test_a_rejected_refresh_token_says_how_to_authorise_again() -> None:
    http, _, _, _ = setup(refresh_token="RT-revoked")
    with pytest.raises(ConnectionFailedError) as caught:
        http.get("https://api.test/x")
    assert "Authorise again" in str(caught.value)
    assert caught.value.context.vendor_code == "invalid_grant"


def test_stored_tokens_win_over_the_config_until_the_user_authorises_again() -> None:
    journal: list[str] = []
    store = MemoryTokenStore(journal)
    store.save(
        "books",
        {
            "access_token": "AT-stored",
            "refresh_token": "RT-stored",
            "expires_at": "0",
            "seed": seed_of("RT-0"),
        },
    )
    server = TokenServer(journal)
    server.valid_access.add("AT-stored")
    settings = OAuth2Settings(
        "books", "test", TOKEN_URL, "cid", "csecret-long", refresh_token="RT-0"
    )
    auth = OAuth2RefreshAuth(settings, store, clock=lambda: 1.0)
    http = httpx.Client(transport=httpx.MockTransport(server), auth=auth, timeout=5)
    http.get("https://api.test/x")
    assert journal[-1] == "api:AT-stored"  # the rotated token from last run, not the config's

    other = OAuth2Settings(
        "books", "test", TOKEN_URL, "cid", "csecret-long", refresh_token="RT-new"
    )
    server.valid_refresh.add("RT-new")
    fresh = OAuth2RefreshAuth(other, store, clock=lambda: 1.0)
    httpx.Client(transport=httpx.MockTransport(server), auth=fresh, timeout=5).get(
        "https://api.test/x"
    )
    assert fresh.refreshes == 1  # the user pasted a new refresh token: it was used


def test_a_failed_refresh_request_does_not_leave_the_lock_held() -> None:
    http, auth, server, _ = setup()
    calls = {"n": 0}
    original = server._token

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("token endpoint unreachable")
        return original(request)

    server._token = flaky  # type: ignore[method-assign]
    with pytest.raises(httpx.ConnectError):
        http.get("https://api.test/x")
    statuses: list[int] = []
    second = threading.Thread(
        target=lambda: statuses.append(http.get("https://api.test/x").status_code)
    )
    second.start()
    second.join(timeout=5)
    assert statuses == [200], "the refresh lock was left held after the failed refresh"
    assert auth.refreshes == 1
