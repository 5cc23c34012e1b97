"""A faithful local TallyPrime: XML over HTTP, company, masters, vouchers, GST, AlterIDs."""

from tests.emulators.tally.books import Company, new_company
from tests.emulators.tally.server import Fault, TallyEmulator

__all__ = ["Company", "Fault", "TallyEmulator", "new_company"]
