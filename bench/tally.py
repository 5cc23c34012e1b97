"""Tally benchmark: vouchers per second into the emulator, one per envelope versus many.

Run: ``.venv/bin/python bench/tally.py [--invoices N] [--sizes 1,10,50,100,250]``. For each
envelope size the connector writes N invoices (accounting view, intra- and inter-state GST) into
a fresh emulator served over real HTTP on 127.0.0.1, in batches of that size as the executor
would send them; then again with 1% bad vouchers (a GST rate whose duty ledger does not exist), to
show what isolating each bad voucher costs. Results are printed as a Markdown table. The emulator
stands in for Tally: real TallyPrime numbers remain to be measured (reference A1.2).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.emulators.tally import TallyEmulator
from tests.emulators.tally.samples import (
    KARNATAKA_GSTIN,
    connector,
    create_customer,
    create_invoice,
    customer,
    invoice,
)

from ledgerlink.connectors.base import WriteRequest


@dataclass(frozen=True, slots=True)
class Result:
    """One measured run."""

    size: int
    bad_every: int | None
    seconds: float
    written: int
    failed: int
    requests: int

    @property
    def rate(self) -> float:
        """Vouchers written (or dead-lettered) per second."""
        return (self.written + self.failed) / self.seconds


def _invoices(count: int, bad_every: int | None) -> list[WriteRequest]:
    requests = []
    for number in range(count):
        bad = bad_every is not None and number % bad_every == bad_every // 2
        record = invoice([f"{1000 + number % 997}.{number % 100:02d}"], "12" if bad else "18")
        party = "Mumbai Mart" if number % 3 else "Bharat Traders"
        requests.append(create_invoice(1000 + number, record, party))
    return requests


def run(count: int, size: int, bad_every: int | None) -> Result:
    """Write ``count`` invoices in envelopes of ``size`` into a fresh emulator."""
    emulator = TallyEmulator()
    if bad_every is not None:
        for duty, head in (
            ("CGST", "Central Tax"),
            ("SGST", "State Tax"),
            ("IGST", "Integrated Tax"),
        ):
            rate = "18" if duty == "IGST" else "9"
            emulator.import_xml(
                f'<LEDGER NAME="Output {duty} @{rate}%"><PARENT>Duties &amp; Taxes</PARENT>'
                f"<GSTDUTYHEAD>{head}</GSTDUTYHEAD></LEDGER>"
            )
    ledgers: dict[str, Any] = (
        {"cgst_ledger": "Output CGST @{rate}%", "sgst_ledger": "Output SGST @{rate}%",
         "igst_ledger": "Output IGST @{rate}%"}
        if bad_every is not None
        else {}
    )  # fmt: skip
    requests = _invoices(count, bad_every)
    with emulator.serve() as url:
        books = connector(url=url, batch_size=size, **ledgers)
        books.apply(
            [
                create_customer(1, customer("Mumbai Mart", state="Maharashtra")),
                create_customer(2, customer("Bharat Traders", gstin=KARNATAKA_GSTIN, state="KA")),
            ]
        )
        before = emulator.requests
        written = failed = 0
        start = time.perf_counter()
        for first in range(0, len(requests), size):
            for outcome in books.apply(requests[first : first + size]):
                if outcome.ok:
                    written += 1
                else:
                    failed += 1
        seconds = time.perf_counter() - start
        books.close()
    assert len(emulator.company().vouchers) == written
    return Result(size, bad_every, seconds, written, failed, emulator.requests - before)


def _rate(result: Result) -> float:
    return result.rate


def main() -> None:
    """Run every size, clean and with bad vouchers, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--sizes", default="1,10,50,100,250,500")
    parser.add_argument("--bad-every", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; the best counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{args.invoices:,} invoices into the Tally emulator over HTTP (127.0.0.1), "
        f"best of {args.repeat}\n"
    )
    print("| vouchers per envelope | clean: vouchers/s | requests | "
          f"1 bad in {args.bad_every}: vouchers/s | requests | failed |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        # Best of several runs: the machine is shared, and slow outliers say nothing about us.
        clean = max((run(args.invoices, size, None) for _ in range(args.repeat)), key=_rate)
        dirty = max(
            (run(args.invoices, size, args.bad_every) for _ in range(args.repeat)), key=_rate
        )
        print(
            f"| {size} | {clean.rate:,.0f} | {clean.requests:,} | {dirty.rate:,.0f} | "
            f"{dirty.requests:,} | {dirty.failed:,} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
