"""A local QuickBooks Online emulator that follows the published behaviour and cites it.

Each module names the section of ``reference/accounting-systems.md`` (§1) or
``reference/limits-and-reliability.md`` (A1, A4, B2) it imitates; ⚠ marks a behaviour the
reference itself flags as uncertain.
"""

from tests.emulators.qbo.api import Credentials, EmulatorRequest, EmulatorResponse, QboEmulator
from tests.emulators.qbo.changes import cloud_events, notification, sign
from tests.emulators.qbo.clock import ManualClock, ScaledClock
from tests.emulators.qbo.faults import Faults, LatencyModel, QboFault
from tests.emulators.qbo.limits import LimitSettings
from tests.emulators.qbo.server import (
    MOCK_BASE_URL,
    MOCK_TOKEN_URL,
    EmulatorServer,
    mock_transport,
)

__all__ = [
    "MOCK_BASE_URL",
    "MOCK_TOKEN_URL",
    "Credentials",
    "EmulatorRequest",
    "EmulatorResponse",
    "EmulatorServer",
    "Faults",
    "LatencyModel",
    "LimitSettings",
    "ManualClock",
    "QboEmulator",
    "QboFault",
    "ScaledClock",
    "cloud_events",
    "mock_transport",
    "notification",
    "sign",
]
