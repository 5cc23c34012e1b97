"""The emulator on the wire: in-process through ``httpx.MockTransport``, or a real HTTP server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.emulators.qbo.api import TOKEN_PATH, EmulatorRequest, QboEmulator

MOCK_BASE_URL = "https://quickbooks.emulator.test/v3"
MOCK_TOKEN_URL = f"https://oauth.emulator.test{TOKEN_PATH}"


def mock_transport(emulator: QboEmulator) -> httpx.MockTransport:
    """An httpx transport answering from ``emulator`` in the calling thread (fast tests).

    A dropped response raises what a real client sees when the server closes the connection
    without answering: ``httpx.RemoteProtocolError``.
    """

    def handler(request: httpx.Request) -> httpx.Response:
        answer = emulator.handle(
            EmulatorRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.url.params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.read(),
            )
        )
        if answer.drop:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body)

    return httpx.MockTransport(handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answer small responses at once (no delayed-ACK stalls)
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        answer = self.server.emulator.handle(
            EmulatorRequest(
                method=self.command,
                path=url.path,
                query=dict(parse_qsl(url.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
        )
        if answer.drop:
            self.close_connection = True
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = _answer  # noqa: N815 - the stdlib's naming
    do_POST = _answer  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request stderr line."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, emulator: QboEmulator) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.emulator = emulator


class EmulatorServer:
    """The emulator as a real HTTP server on 127.0.0.1 and a random port, in a thread.

    Use as a context manager; ``base_url`` and ``token_url`` go into the connection's config.
    """

    def __init__(self, emulator: QboEmulator) -> None:
        self.emulator = emulator
        self._server = _Server(emulator)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``base_url`` for the connection config."""
        return f"http://127.0.0.1:{self.port}/v3"

    @property
    def token_url(self) -> str:
        """``token_url`` for the connection config."""
        return f"http://127.0.0.1:{self.port}{TOKEN_PATH}"

    def start(self) -> EmulatorServer:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
