"""Two-way benchmark: a sync that merges changes from both sides, and a no-op two-way re-sync.

Run from the repository root: ``.venv/bin/python bench/two_way.py [N]`` (default 20,000
contacts). The CRM and books are in memory (tests/fakes_two_way.py) and the state is a SQLite
file, so the numbers are the engine's own cost: reading the books' change feed, the three-way
merge, write-backs and state commits.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes_two_way import Clock, TwoWayBooks, TwoWayCrm

from ledgerlink.canonical.records import Contact
from ledgerlink.config.loader import parse_config
from ledgerlink.state.store import StateStore
from ledgerlink.sync.run import Workspace, execute_run

CONFIG = """
version: 1
state: sqlite:///{db}
connections:
  crm: {{type: beancount, path: unused-crm.beancount}}
  books: {{type: beancount, path: unused.beancount}}
pipes:
  - name: customers
    from: crm.contacts
    to: books.customers
    direction: two-way
    conflict: newest-wins
"""


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock()
        crm = TwoWayCrm(
            clock=clock,
            streams={
                "contacts": {
                    f"c{i}": Contact(display_name=f"Customer {i}", emails=(f"c{i}@example.com",))
                    for i in range(count)
                }
            },
        )
        books = TwoWayBooks(clock=clock, batch_size=200)
        loaded = parse_config(CONFIG.format(db=f"{tmp}/state.db"), Path(tmp) / "l.yaml", {})
        store = StateStore.open(loaded.state_url())
        workspace = Workspace(loaded, store, {"crm": crm, "books": books})

        def timed(label: str) -> None:
            start = time.perf_counter()
            report = execute_run(workspace, command="sync", sleep=lambda _s: None)
            elapsed = time.perf_counter() - start
            counts = report.pipes[0].plan.counts()
            print(f"| {label} | {elapsed:.2f} s | {counts} |")

        print(f"| {count:,} contacts | time | counts |\n|---|---|---|")
        timed("first sync (creates)")
        tenth = count // 10
        for i in range(tenth):
            crm.edit(f"c{i}", notes=f"crm note {i}")
        links = store.get_links("customers", [f"c{i}" for i in range(tenth, 2 * tenth)])
        for link in links.values():
            books.edit(link.target_id, phone="+1 555 0100")
        timed(f"{tenth:,} CRM edits + {tenth:,} books edits")
        timed("no-op re-sync (echoes of both)")
        timed("no-op re-sync")
        store.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
