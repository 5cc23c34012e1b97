"""Run the QuickBooks Online emulator as a server: ``python -m tests.emulators.qbo [--scale K]``.

Prints one JSON line (base_url, token_url, realm_id, client_id, client_secret, refresh_token) on
stdout, then serves on 127.0.0.1 until stopped; for end-to-end CLI tests and manual trials.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from tests.emulators.qbo.api import QboEmulator
from tests.emulators.qbo.clock import ScaledClock
from tests.emulators.qbo.faults import LatencyModel
from tests.emulators.qbo.server import EmulatorServer


def main() -> None:
    """Serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description="Local QuickBooks Online emulator")
    parser.add_argument("--scale", type=float, default=1.0, help="k: emulated = real × k")
    parser.add_argument("--latency", action="store_true", help="lognormal response times")
    parser.add_argument("--item", default="Services", help="a service item to create ('' for none)")
    args = parser.parse_args()
    emulator = QboEmulator(clock=ScaledClock(args.scale))
    if args.latency:
        emulator.faults.latency = LatencyModel()
    if args.item:
        item = {"Name": args.item, "Type": "Service", "IncomeAccountRef": {"value": "1"}}
        emulator.seed("Item", item)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with EmulatorServer(emulator) as server:
        credentials = emulator.authorise()
        details = {
            "base_url": server.base_url,
            "token_url": server.token_url,
            "realm_id": credentials.realm_id,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "refresh_token": credentials.refresh_token,
        }
        sys.stdout.write(json.dumps(details) + "\n")
        sys.stdout.flush()
        stop.wait()


if __name__ == "__main__":
    main()
