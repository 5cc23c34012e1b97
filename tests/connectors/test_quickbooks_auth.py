"""QuickBooks OAuth against the emulator: rotation stored first, one refresh, re-authorising."""

from __future__ import annotations

import logging
import threading

import pytest

from ledgerlink.errors import ConnectionFailedError
from tests.emulators.qbo import ManualClock, QboEmulator
from tests.emulators.qbo.harness import MemoryTokenStore, make_connector


@pytest.fixture
def emulator() -> QboEmulator:
    return QboEmulator(clock=ManualClock())


def test_the_rotated_refresh_token_is_stored_before_the_next_api_call(
    emulator: QboEmulator,
) -> None:
    store = MemoryTokenStore(emulator.journal)
    connector = make_connector(emulator, store=store)
    connector.check()
    assert emulator.journal[:3] == ["token:refresh", "store:save", "api:GET companyinfo/9130"]
    stored = store.saved["books"]
    assert stored["refresh_token"].startswith("RT1-")
    assert emulator.oauth.grants[stored["refresh_token"]].active  # the one QuickBooks honours now


def test_an_hour_later_the_token_is_refreshed_and_rotated_again(emulator: QboEmulator) -> None:
    clock = emulator.clock
    assert isinstance(clock, ManualClock)
    store = MemoryTokenStore(emulator.journal)
    connector = make_connector(emulator, store=store)
    connector.check()
    first = store.saved["books"]["refresh_token"]
    clock.advance(3600)
    connector.check()
    assert emulator.oauth.refreshes == 2
    assert store.saved["books"]["refresh_token"] != first
    assert emulator.journal[-3:] == ["token:refresh", "store:save", "api:GET companyinfo/9130"]


def test_a_token_expired_early_is_refreshed_on_the_401(emulator: QboEmulator) -> None:
    connector = make_connector(emulator)
    connector.check()
    emulator.oauth.expire_access_tokens()
    assert "Emulated Company" in connector.check()
    assert emulator.oauth.refreshes == 2


def test_many_threads_hitting_an_expired_token_cause_one_refresh(emulator: QboEmulator) -> None:
    store = MemoryTokenStore(emulator.journal)
    connector = make_connector(emulator, store=store)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            connector.check()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert emulator.oauth.refreshes == 1
    assert store.saves == 1


def test_a_revoked_connection_tells_the_user_how_to_reauthorise(emulator: QboEmulator) -> None:
    connector = make_connector(emulator)
    connector.check()
    emulator.oauth.revoke_all(emulator.realm_id)
    with pytest.raises(ConnectionFailedError) as caught:
        connector.check()
    message = str(caught.value)
    assert "Connect the app to the company again" in message
    assert "refresh_token" in message
    assert "'books'" in message


def test_the_next_run_resumes_from_the_stored_token(emulator: QboEmulator) -> None:
    credentials = emulator.authorise()
    store = MemoryTokenStore(emulator.journal)
    first = make_connector(emulator, store=store, refresh_token=credentials.refresh_token)
    first.check()
    # The config still holds the original refresh token, which QuickBooks has rotated away.
    second = make_connector(emulator, store=store, refresh_token=credentials.refresh_token)
    emulator.oauth.expire_access_tokens()
    second.check()
    assert "token:invalid_grant" not in emulator.journal

    # Without a store the rotated token is lost with the process: the old one is refused.
    forgetful = make_connector(emulator, refresh_token=credentials.refresh_token)
    with pytest.raises(ConnectionFailedError):
        forgetful.check()


def test_no_token_or_secret_reaches_the_logs(
    emulator: QboEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemoryTokenStore()
    connector = make_connector(emulator, store=store)
    connector.check()
    emulator.oauth.expire_access_tokens()
    connector.check()
    emulator.oauth.revoke_all(emulator.realm_id)
    with pytest.raises(ConnectionFailedError):
        connector.check()
    secrets = [emulator.client_secret, *store.saved["books"].values()]
    assert caplog.text
    for secret in secrets:
        if len(secret) > 8:
            assert secret not in caplog.text
