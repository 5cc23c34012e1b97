"""A fork server for ``ledgerlink`` runs: import once, then fork a fresh process per request.

``python -m tests.reliability.fork_server`` imports the CLI, then reads one JSON request a line
on stdin (``argv``, ``cwd``, ``env``, ``stdout``, ``stderr`` paths), forks a child that runs
``ledgerlink.cli.app.main`` with them, waits for it, and answers one JSON line
``{"returncode": N}`` (``-9`` when SIGKILL ended it). It exits at the end of its stdin.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import ledgerlink.cli.app


def _break_idempotency() -> None:
    """The mutant the harness must catch: ledgerlink forgets what is already in the books.

    The planner sees empty books (no match by ledgerlink id or natural key) and the Beancount
    writer stamps a new id on every customer it creates, so a re-run creates it again.
    """
    import dataclasses  # noqa: PLC0415

    from ledgerlink.connectors.beancount.writer import BatchPlanner  # noqa: PLC0415
    from ledgerlink.matching.match import MatchIndex  # noqa: PLC0415
    from ledgerlink.planning.planner import RecordPlanner  # noqa: PLC0415

    create = BatchPlanner._create_customer

    def create_again(self: BatchPlanner, position: int, request: Any) -> Any:
        fresh = dataclasses.replace(request, ledgerlink_id=f"{request.ledgerlink_id}-{os.getpid()}")
        return create(self, position, fresh)

    def nothing_in_the_books(self: RecordPlanner) -> MatchIndex:
        return MatchIndex.of([])

    BatchPlanner._create_customer = create_again  # type: ignore[method-assign]
    RecordPlanner._match_index = nothing_in_the_books  # type: ignore[method-assign]


def _child(request: dict[str, Any]) -> None:
    if request.get("mutant") == "not-idempotent":
        _break_idempotency()
    os.chdir(request["cwd"])
    for name, value in request["env"].items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, fd)
        os.close(handle)
    sys.argv = ["ledgerlink", *request["argv"]]
    code = 0
    try:
        ledgerlink.cli.app.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # a crash is a result: show it like the interpreter would
        import traceback  # noqa: PLC0415

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    """Answer requests until stdin ends."""
    answers = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            try:
                _child(request)
            finally:
                os._exit(70)
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
