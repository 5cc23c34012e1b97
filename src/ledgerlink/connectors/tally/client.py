"""Posting XML to Tally's HTTP server: encodings, timeouts, and Tally's failures as our errors."""

from __future__ import annotations

import httpx

from ledgerlink.connectors.tally.envelopes import line_errors
from ledgerlink.connectors.tally.xml import (
    BadXmlError,
    Element,
    Encoding,
    UnsafeXmlError,
    content_type,
    parse,
    render,
)
from ledgerlink.errors import (
    ConnectionFailedError,
    ErrorContext,
    FatalError,
    TransientError,
)

SYSTEM = "tally"
_SERVER_HINT = (
    "Start TallyPrime, load the company, and let it act as a server on that port "
    "(F1 Help > Settings > Connectivity: 'TallyPrime acts as' Server or Both)"
)


class TallyClient:
    """Sends one envelope at a time (Tally serves requests one by one) and parses the answer."""

    def __init__(
        self,
        url: str,
        company: str,
        *,
        encoding: Encoding,
        connect_timeout: float,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.company = company
        self.encoding: Encoding = encoding
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._transport = transport
        self._http: httpx.Client | None = None
        self.requests = 0

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=self._timeout, transport=self._transport)
        return self._http

    def close(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def post(self, envelope: Element) -> Element:
        """Post an envelope; the parsed answer, or an error saying what to do.

        Unreachable: ``ConnectionFailedError``. No answer in time, a dropped connection or a
        garbled answer: ``TransientError`` (an import may or may not have happened; resending is
        safe because every object carries its REMOTEID). A DTD or entities in the answer:
        ``FatalError``. The company not loaded: ``ConnectionFailedError``.
        """
        body = render(envelope, self.encoding)
        context = ErrorContext(system=SYSTEM, location=self.url)
        self.requests += 1
        try:
            response = self._client().post(
                self.url, content=body, headers={"Content-Type": content_type(self.encoding)}
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectionFailedError(
                f"Tally is not reachable at {self.url}: {exc}", hint=_SERVER_HINT, context=context
            ) from None
        except httpx.TimeoutException:
            raise TransientError(
                f"Tally did not answer within {self._timeout.read:g} seconds",
                hint="Tally may be busy (a report or a backup); the write is retried safely",
                context=context,
            ) from None
        except httpx.TransportError as exc:
            raise TransientError(f"the connection to Tally broke: {exc}", context=context) from None
        if response.status_code >= 500:
            raise TransientError(f"Tally answered HTTP {response.status_code}", context=context)
        if response.status_code != 200:
            raise FatalError(
                f"Tally answered HTTP {response.status_code}",
                hint="Check that `url` points at Tally's XML port, not at another service",
                context=context,
            )
        try:
            root = parse(response.content, response.headers.get("content-type"))
        except UnsafeXmlError as exc:
            raise FatalError(
                f"Tally's answer was refused: {exc}",
                hint="Something other than Tally answers on this port; check `url`",
                context=context,
            ) from None
        except BadXmlError as exc:
            raise TransientError(f"Tally's answer is not XML: {exc}", context=context) from None
        self._check_company(root, context)
        return root

    def _check_company(self, root: Element, context: ErrorContext) -> None:
        for message in line_errors(root):
            if "svcurrentcompany" in message.replace(" ", "").casefold():
                raise ConnectionFailedError(
                    f"the company {self.company!r} is not open in Tally ({message})",
                    hint="Open the company in Tally (F3 Select Company), or correct `company:` "
                    "to its name exactly as Tally shows it",
                    context=context,
                )
