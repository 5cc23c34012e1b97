"""Log redaction: tokens, secrets and credentials never reach a log line."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

SENSITIVE_NAMES = frozenset(
    (
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "client_assertion",
        "code",
        "password",
        "token",
        "api_key",
        "apikey",
    )
)

_NAMES = "|".join(sorted(SENSITIVE_NAMES, key=len, reverse=True))
_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(rf"(?i)\b({_NAMES})=[^&\s\"']+"),
    re.compile(rf"(?i)\"({_NAMES})\"\s*:\s*\"[^\"]*\""),
)
_MIN_SECRET_LENGTH = 6


def _mask_match(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith('"'):
        return f'"{match.group(1)}": "{MASK}"'
    if "=" in text:
        return f"{match.group(1)}={MASK}"
    return f"{match.group(1)} {MASK}"


class Redactor:
    """Replaces secrets in text meant for logs: known secret values and credential patterns.

    Known values (a client secret, every access and refresh token seen) are added as they appear,
    so even a token echoed inside an error message from a vendor is masked.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Remember more secret values to mask (short values are ignored: they would mask words)."""
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH)

    def __call__(self, text: str) -> str:
        """``text`` with every known secret and credential pattern masked."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(_mask_match, text)
        return text

    def url(self, url: str) -> str:
        """A URL fit for a log: sensitive query parameters masked, user info dropped."""
        parts = urlsplit(url)
        query = urlencode(
            [
                (name, MASK if name.lower() in SENSITIVE_NAMES else value)
                for name, value in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="*,:",
        )
        netloc = parts.netloc.rsplit("@", 1)[-1]
        return self(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record it passes (install it on a handler)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message, mask it, and let the record through."""
        record.msg = self._redactor(record.getMessage())
        record.args = None
        return True
