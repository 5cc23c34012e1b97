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
    cpu_seconds: float
    written: int
    failed: int
    requests: int

    @property
    def rate(self) -> float:
        """Vouchers written (or dead-lettered) per second."""
        return (self.written + self.failed) / self.seconds

    @property
    def cpu_per_voucher(self) -> float:
        """Process CPU time (connector and emulator together) per voucher, in microseconds."""
        return self.cpu_seconds / (self.written + self.failed) * 1e6


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
        start, cpu = time.perf_counter(), time.process_time()
        for first in range(0, len(requests), size):
            for outcome in books.apply(requests[first : first + size]):
                if outcome.ok:
                    written += 1
                else:
                    failed += 1
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        books.close()
    assert len(emulator.company().vouchers) == written
    return Result(size, bad_every, seconds, cpu, written, failed, emulator.requests - before)


def _cpu(result: Result) -> float:
    return result.cpu_per_voucher


def main() -> None:
    """Run every size, clean and with bad vouchers, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--sizes", default="1,10,50,100,250,500")
    parser.add_argument("--bad-every", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; least CPU counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{args.invoices:,} invoices into the Tally emulator over HTTP (127.0.0.1), "
        f"best of {args.repeat}\n"
    )
    bad = f"1 bad in {args.bad_every}"
    print(
        "| vouchers per envelope | clean: vouchers/s | CPU µs/voucher | requests "
        f"| {bad}: vouchers/s | CPU µs/voucher | requests | failed |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        # Best of several runs by CPU time: on a shared machine wall time mostly measures the
        # neighbours; process CPU (connector and emulator together) measures the work.
        clean = min((run(args.invoices, size, None) for _ in range(args.repeat)), key=_cpu)
        dirty = min(
            (run(args.invoices, size, args.bad_every) for _ in range(args.repeat)), key=_cpu
        )
        print(
            f"| {size} | {clean.rate:,.0f} | {clean.cpu_per_voucher:,.0f} | {clean.requests:,} | "
            f"{dirty.rate:,.0f} | {dirty.cpu_per_voucher:,.0f} | {dirty.requests:,} | "
            f"{dirty.failed:,} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
