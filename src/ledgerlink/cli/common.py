"""What every command shares: consoles, the error-to-exit-status rule, opening a workspace."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from ledgerlink.config.loader import load_config
from ledgerlink.errors import (
    ConfigError,
    ConnectionFailedError,
    FatalError,
    LedgerlinkError,
    TransientError,
)
from ledgerlink.sync.run import Workspace

T = TypeVar("T")

#: The options every command shares.
ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Configuration file.", show_default=True)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
DEFAULT_CONFIG = Path("ledgerlink.yaml")

out = Console()
err = Console(stderr=True)


def fail(error: LedgerlinkError) -> typer.Exit:
    """Print an error the way every command does; the exit status of the user contract."""
    code = 2 if isinstance(error, ConfigError) else 3
    label = {2: "configuration error", 3: "cannot continue"}[code]
    err.print(f"[bold red]{label}:[/bold red] ", end="", highlight=False)
    err.print(Text(str(error)), highlight=False, soft_wrap=True)
    return typer.Exit(code)


def guarded(action: Callable[[], T]) -> T:
    """Run an action; known errors become a clear message and exit 2 (configuration) or 3."""
    try:
        return action()
    except (ConfigError, ConnectionFailedError, FatalError, TransientError) as exc:
        raise fail(exc) from None


@contextlib.contextmanager
def open_workspace(config: Path) -> Iterator[Workspace]:
    """Load the configuration and open its state; closed (with its connectors) afterwards."""
    loaded = guarded(lambda: load_config(config))
    workspace = guarded(lambda: Workspace.open(loaded))
    try:
        yield workspace
    finally:
        workspace.close()
