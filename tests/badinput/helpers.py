"""What every bad-input corpus shares: the emulator's request counters (a refused input costs zero requests)."""

from __future__ import annotations

from vidgate.emulator import EmulatorServer
from vidgate.emulator.state import ANY_REQUEST

NO_TRACEBACK = "Traceback (most recent call last)"


def provider_requests(emulator: EmulatorServer) -> int:
    """Every HTTP request that reached the emulated providers, answered or refused (``/_emulator`` not counted)."""
    return emulator.state.counts[ANY_REQUEST]
