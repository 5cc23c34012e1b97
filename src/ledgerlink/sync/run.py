"""The composition root of a run: builds connectors and the store, runs the pipes in order."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from ledgerlink.canonical.records import Record
from ledgerlink.config.loader import LoadedConfig
from ledgerlink.config.model import PipeConfig
from ledgerlink.connectors.base import (
    ConnectorContext,
    SourceConnector,
    TargetConnector,
    TokenStore,
)
from ledgerlink.connectors.registry import connector_type
from ledgerlink.errors import (
    ConfigError,
    ConnectionFailedError,
    FatalError,
    LedgerlinkError,
    TransientError,
)
from ledgerlink.execution.executor import TargetUnavailableError, stopped_by
from ledgerlink.planning.plan import PipePlan
from ledgerlink.state.secrets import load_secret_key
from ledgerlink.state.store import StateStore
from ledgerlink.sync.pipeline import PipeRun, RunObserver, run_pipe
from ledgerlink.sync.retries import replay_due
from ledgerlink.sync.twoway import check_two_way

RunStatus = Literal["ok", "partial", "failed"]
EXIT_CODES: dict[RunStatus, int] = {"ok": 0, "partial": 1, "failed": 3}


class SilentObserver:
    """An observer that shows nothing (tests, ``--json`` without a terminal)."""

    def pipe_started(self, pipe: str) -> None:
        """Nothing to show."""

    def records_seen(self, pipe: str, count: int) -> None:
        """Nothing to show."""


@dataclass(slots=True)
class PipeReport:
    """How one pipe ended: its plan (counts, ops, failures) or the error that stopped it."""

    plan: PipePlan
    error: LedgerlinkError | None = None

    def to_json(self, *, with_ops: bool) -> dict[str, Any]:
        """The pipe as the user contract's JSON."""
        data = self.plan.to_json()
        if not with_ops:
            data.pop("ops")
        if self.error is not None:
            data["error"] = str(self.error)
        return data


@dataclass(slots=True)
class RunReport:
    """The outcome of ``plan`` or ``sync``."""

    run_id: str
    command: str
    pipes: list[PipeReport] = field(default_factory=list)

    @property
    def status(self) -> RunStatus:
        """failed if a pipe stopped; partial if records were dead-lettered; ok otherwise."""
        if any(p.error is not None for p in self.pipes):
            return "failed"
        if any(p.plan.failures for p in self.pipes):
            return "partial"
        return "ok"

    @property
    def exit_code(self) -> int:
        """0 all synced, 1 some records failed, 3 a system could not be reached or used."""
        return EXIT_CODES[self.status]

    def to_json(self) -> dict[str, Any]:
        """Exactly the JSON object ``--json`` prints."""
        return {
            "run_id": self.run_id,
            "command": self.command,
            "status": self.status,
            "pipes": [p.to_json(with_ops=self.command == "plan") for p in self.pipes],
        }


class LazyTokenStore:
    """The state's encrypted token store, opened (and its key found or made) on first use only.

    A configuration without OAuth connections never creates a key file.
    """

    def __init__(self, store: StateStore, state_url: str) -> None:
        self._store, self._state_url = store, state_url
        self._opened: TokenStore | None = None

    def _open(self) -> TokenStore:
        if self._opened is None:
            key = load_secret_key(self._state_url, os.environ)
            self._opened = self._store.token_store(key)
        return self._opened

    def load(self, connection: str) -> dict[str, str] | None:
        """The connection's stored tokens."""
        return self._open().load(connection)

    def save(self, connection: str, tokens: dict[str, str]) -> None:
        """Store the connection's tokens, durably."""
        self._open().save(connection, tokens)


class Workspace:
    """An opened configuration: its state store and (lazily built) connectors."""

    def __init__(
        self,
        loaded: LoadedConfig,
        store: StateStore,
        connectors: Mapping[str, SourceConnector | TargetConnector] | None = None,
    ) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.store = store
        self._connectors: dict[str, SourceConnector | TargetConnector] = dict(connectors or {})
        self._tokens = LazyTokenStore(store, loaded.state_url())

    @classmethod
    def open(cls, loaded: LoadedConfig) -> Workspace:
        """Open the state database named by the configuration (migrating it if needed)."""
        return cls(loaded, StateStore.open(loaded.state_url()))

    def close(self) -> None:
        """Close every connector that holds resources (HTTP clients, files), then the state."""
        for connector in self._connectors.values():
            close = getattr(connector, "close", None)
            if callable(close):
                close()
        self.store.close()

    def connector(self, name: str) -> SourceConnector | TargetConnector:
        """The connector of a named connection, built on first use."""
        if name not in self._connectors:
            config = self.config.connections[name]
            kind = connector_type(str(getattr(config, "type", "")))
            context = ConnectorContext(
                name=name, base_dir=self.loaded.base_dir, tokens=self._tokens
            )
            self._connectors[name] = kind.build(config, context)
        return self._connectors[name]

    def source(self, pipe: PipeConfig) -> SourceConnector:
        """The pipe's source, checked to read the pipe's stream."""
        connector = self.connector(pipe.source_connection)
        if not isinstance(connector, SourceConnector) or (
            pipe.source_stream not in connector.readable_streams()
        ):
            raise ConfigError(
                f"pipe {pipe.name!r}: connection {pipe.source_connection!r} cannot read "
                f"{pipe.source_stream!r}",
                hint="Check the pipe's `from:`",
            )
        return connector

    def target(self, pipe: PipeConfig) -> TargetConnector:
        """The pipe's target, checked to write the pipe's stream."""
        connector = self.connector(pipe.target_connection)
        if not isinstance(connector, TargetConnector) or (
            pipe.target_stream not in connector.writable_streams()
        ):
            raise ConfigError(
                f"pipe {pipe.name!r}: connection {pipe.target_connection!r} cannot write "
                f"{pipe.target_stream!r}",
                hint="Check the pipe's `to:`",
            )
        return connector

    def ordered_pipes(self, names: list[str] | None) -> list[PipeConfig]:
        """The selected pipes, customers before the invoices that need them."""
        pipes = list(self.config.pipes)
        if names:
            unknown = set(names) - {p.name for p in pipes}
            if unknown:
                raise ConfigError(
                    f"no pipe named {', '.join(sorted(unknown))}",
                    hint="Pipes: " + ", ".join(p.name for p in pipes),
                )
            pipes = [p for p in pipes if p.name in names]
        return sorted(pipes, key=lambda p: p.target_stream != "customers")

    def dependency_pipe(self, pipe: PipeConfig) -> str | None:
        """The customers pipe whose links an invoices pipe resolves its customers through."""
        if pipe.target_stream != "invoices":
            return None
        candidates = [
            p
            for p in self.config.pipes
            if p.target_stream == "customers" and p.target_connection == pipe.target_connection
        ]
        if not candidates:
            raise ConfigError(
                f"pipe {pipe.name!r} writes invoices, but no pipe writes customers into "
                f"{pipe.target_connection!r}",
                hint=f"Add a pipe from your CRM's contacts to {pipe.target_connection}.customers",
            )
        same_source = [p for p in candidates if p.source_connection == pipe.source_connection]
        return (same_source or candidates)[0].name


def execute_run(
    workspace: Workspace,
    *,
    command: Literal["plan", "sync", "dlq retry", "retry"],
    pipes: list[str] | None = None,
    full: bool = False,
    only_keys: Mapping[str, frozenset[str]] | None = None,
    observer: RunObserver | None = None,
    today: date | None = None,
    sleep: Callable[[float], None] = time.sleep,
    since: date | None = None,
) -> RunReport:
    """Plan or sync the selected pipes; a pipe that cannot go on stops, the others continue.

    ``since`` limits the run to records modified (deals: closed) on or after that day.

    A sync then replays the dead letters that are due (``sync.retries``). A target that stays
    unavailable through the executor's retries stops every later pipe writing to it.
    """
    store = workspace.store
    selected = workspace.ordered_pipes(pipes)
    for pipe in selected:  # configuration problems stop the run before anything is read
        workspace.dependency_pipe(pipe)
        if pipe.direction == "two-way":
            check_two_way(pipe, workspace.source(pipe), workspace.target(pipe))
    run_id = store.start_run(command)
    report = RunReport(run_id, command)
    planned: dict[str, dict[str, Record]] = {}
    unavailable: dict[str, LedgerlinkError] = {}  # target connection -> why it stopped
    for pipe in selected:
        dependency = workspace.dependency_pipe(pipe)
        run = None
        if pipe.target_connection in unavailable:
            plan = PipePlan(pipe.name, pipe.source, pipe.target)
            report.pipes.append(PipeReport(plan, unavailable[pipe.target_connection]))
            continue
        try:
            run = PipeRun(
                pipe=pipe,
                source=workspace.source(pipe),
                target=workspace.target(pipe),
                store=store,
                run_id=run_id,
                today=today or datetime.now(UTC).date(),
                dependency_pipe=dependency,
                observer=observer or SilentObserver(),
                dry_run=command == "plan",
                full=full or only_keys is not None,
                since=since,
                only_keys=None if only_keys is None else only_keys.get(pipe.name, frozenset()),
                planned_dependencies=planned.get(dependency or "", {}),
                sleep=sleep,
            )
            plan = run_pipe(run)
            planned[pipe.name] = {
                op.source_key: op.record for op in plan.ops if op.kind in ("create", "link")
            }
            if run.only_keys is not None:
                gone = run.only_keys - run.seen_keys
                if gone:
                    store.resolve_dead_letters(pipe.name, gone, "no longer in the source")
            report.pipes.append(PipeReport(plan))
        except (FatalError, ConnectionFailedError, TransientError) as exc:
            plan = run.plan if run is not None else PipePlan(pipe.name, pipe.source, pipe.target)
            error = stopped_by(exc, pipe.name, workspace.connector(pipe.target_connection).system)
            report.pipes.append(PipeReport(plan, error))
            if isinstance(error, TargetUnavailableError):
                unavailable[pipe.target_connection] = error
    if command == "sync" and only_keys is None:
        replay_due(
            store,
            report,
            selected,
            {p.name: workspace.dependency_pipe(p) for p in selected},
            lambda name, keys: execute_run(
                workspace,
                command="retry",
                pipes=[name],
                only_keys={name: keys},
                observer=observer,
                today=today,
                sleep=sleep,
            ),
        )
    store.finish_run(run_id, report.status, report.to_json())
    return report
