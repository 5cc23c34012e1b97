"""Opening GoldMine's database: the URL with its password, the driver, and the error table."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)

from ledgerlink.connectors.goldmine.config import GoldMineConfig
from ledgerlink.errors import ConfigError, ConnectionFailedError, ErrorContext, LedgerlinkError

SYSTEM = "goldmine"
CONNECT_TIMEOUT_S = 10
MSSQL_EXTRA_HINT = "Install the SQL Server driver with `pip install 'ledgerlink[mssql]'`"
#: Which Python module each dialect+driver needs, for a clear message when it is missing.
_DRIVER_MODULES = {
    "mssql+pymssql": ("pymssql", MSSQL_EXTRA_HINT),
    "mssql+pyodbc": (
        "pyodbc",
        "Use mssql+pymssql://user@host/GoldMine with `pip install 'ledgerlink[mssql]'`",
    ),
    "postgresql+psycopg": ("psycopg", "Install it with `pip install 'ledgerlink[postgres]'`"),
}
_PASSWORD_IN_NETLOC = re.compile(r"(//[^:/@\s]*:)[^@/\s]*@")
_PASSWORD_IN_QUERY = re.compile(r"(?i)(password=)[^&\s]*")


def mask(text: str, secret: str | None = None) -> str:
    """Text (a URL, a driver's message) with any password in it replaced by ``***``."""
    if secret:
        text = text.replace(secret, "***")
    return _PASSWORD_IN_QUERY.sub(r"\1***", _PASSWORD_IN_NETLOC.sub(r"\1***@", text))


class Database:
    """GoldMine's SQL database as one configured connection: URL, engine and error mapping.

    Nothing is imported or connected until ``engine()`` is first called.
    """

    def __init__(self, config: GoldMineConfig, resolve: Callable[[str], Path]) -> None:
        assert config.url is not None  # the config guarantees url xor dbf_path
        self._raw = config.url
        self._password = config.password.get_secret_value() if config.password else None
        self._resolve = resolve
        self._engine: Engine | None = None

    @property
    def shown(self) -> str:
        """The URL as it may appear in messages and logs: no password."""
        return mask(self._raw, self._password)

    def url(self) -> URL:
        """The full URL: password merged in, relative SQLite paths resolved, psycopg 3 default."""
        try:
            url = make_url(self._raw)
        except ArgumentError:
            raise ConfigError(
                f"{self.shown!r} is not a database URL",
                hint="Write it like mssql+pymssql://user@host/GoldMine or sqlite:///goldmine.db",
                context=ErrorContext(system=SYSTEM),
            ) from None
        if self._password is not None:
            url = url.set(password=self._password)
        backend, _, driver = url.drivername.partition("+")
        if backend in ("postgresql", "postgres"):
            url = url.set(drivername=f"postgresql+{driver or 'psycopg'}")
        if backend == "mssql" and not driver:
            url = url.set(drivername="mssql+pyodbc")
        if backend == "sqlite" and url.database and url.database != ":memory:":
            path = self._resolve(url.database)
            if not path.exists():
                raise ConnectionFailedError(
                    f"the GoldMine database file {path} does not exist",
                    hint="Check `url:` in the config",
                    context=ErrorContext(system=SYSTEM, location=str(path)),
                )
            url = url.set(database=str(path))
        return url

    def engine(self) -> Engine:
        """The engine (created once): checks the driver is installed, sets connect timeouts."""
        if self._engine is None:
            url = self.url()
            self._require_driver(url)
            connect_args: dict[str, Any] = {}
            if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
                connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
            if url.drivername == "mssql+pymssql" and "login_timeout" not in url.query:
                connect_args["login_timeout"] = CONNECT_TIMEOUT_S
            try:
                self._engine = create_engine(
                    url,
                    connect_args=connect_args,
                    pool_pre_ping=url.get_backend_name() != "sqlite",
                    hide_parameters=True,
                )
            except (NoSuchModuleError, ModuleNotFoundError, ArgumentError) as exc:
                reason = mask(str(exc), self._password)
                raise ConfigError(
                    f"cannot use the GoldMine database {self.shown}: {reason}",
                    hint=MSSQL_EXTRA_HINT if url.get_backend_name() == "mssql" else None,
                    context=ErrorContext(system=SYSTEM),
                ) from None
        return self._engine

    def _require_driver(self, url: URL) -> None:
        needed = _DRIVER_MODULES.get(url.drivername)
        if needed and importlib.util.find_spec(needed[0]) is None:
            raise ConfigError(
                f"the GoldMine database {self.shown} needs the Python module {needed[0]!r}, "
                "which is not installed",
                hint=needed[1],
                context=ErrorContext(system=SYSTEM),
            )

    def error(self, exc: SQLAlchemyError, doing: str) -> LedgerlinkError:
        """The ledgerlink error for a database failure while ``doing`` something; no password."""
        original = getattr(exc, "orig", None) or exc
        lines = mask(str(original), self._password).strip().splitlines()
        reason = lines[0] if lines else type(original).__name__
        context = ErrorContext(system=SYSTEM, location=self.shown)
        if isinstance(exc, ProgrammingError) or (
            isinstance(exc, OperationalError) and _is_schema_problem(reason)
        ):
            return ConfigError(
                f"the database does not look like GoldMine's ({doing}): {reason}",
                hint="Check that `url:` names the GoldMine contact-set database and that the "
                "`user_fields:` exist in CONTACT2; `ledgerlink check` lists what is missing",
                context=context,
            )
        if isinstance(exc, DBAPIError | OperationalError):
            return ConnectionFailedError(
                f"cannot reach the GoldMine database ({doing}): {reason}",
                hint="Check that the server is running and reachable, and the user name and "
                "password (`password:` or ${GM_PASSWORD})",
                context=context,
            )
        return ConnectionFailedError(f"{doing}: {reason}", context=context)

    def dispose(self) -> None:
        """Close pooled connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _is_schema_problem(reason: str) -> bool:
    lowered = reason.lower()
    return "no such table" in lowered or "no such column" in lowered
