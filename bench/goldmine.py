"""GoldMine read speed: full read with and without building records, and a no-op incremental read.

Run: ``.venv/bin/python bench/goldmine.py [COUNT] [SQLALCHEMY_URL]`` (default 100,000 contacts on a
temporary SQLite database, seeded by the GoldMine emulator of the tests).
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.emulators.goldmine import GoldMineEmulator, connector_for


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    work = Path(tempfile.mkdtemp())
    gm = GoldMineEmulator(sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{work / 'gm.db'}")
    started = time.perf_counter()
    gm.seed(count)
    print(f"seeded {count:,} contacts in {time.perf_counter() - started:.1f} s")
    connector = connector_for(gm, work)

    started = time.perf_counter()
    read = connector.read("contacts", None)
    seen = sum(1 for _ in read)
    elapsed = time.perf_counter() - started
    print(f"full read, records not built: {seen / elapsed:,.0f} contacts/s")
    cursor = read.cursor()

    started = time.perf_counter()
    built = 0
    for change in connector.read("contacts", None):
        change.load()
        built += 1
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"full read, records built and validated: {built / elapsed:,.0f} contacts/s")
    print(f"peak RSS: {peak:.0f} MiB")

    started = time.perf_counter()
    changed = sum(1 for _ in connector.read("contacts", cursor))
    print(f"no-op incremental read: {changed} changes in {time.perf_counter() - started:.2f} s")
    gm.dispose()


if __name__ == "__main__":
    main()
