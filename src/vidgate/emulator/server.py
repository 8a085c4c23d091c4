"""Run the emulator as a real HTTP server on loopback, in a background thread (tests, demo, --emulator)."""

from __future__ import annotations

from typing import Any

from vidgate.emulator.app import create_app
from vidgate.emulator.control import truth
from vidgate.emulator.fault_plan import FaultPlan
from vidgate.emulator.state import DEFAULT_KEY, EmulatorConfig, EmulatorState
from vidgate.net.loopback import LoopbackServer


class EmulatorServer(LoopbackServer):
    """``with EmulatorServer() as emu: emu.url, emu.api_key, emu.state.counts``. Binds 127.0.0.1 only."""

    def __init__(self, config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or EmulatorConfig()
        super().__init__(create_app(self.config), host, port, name="the emulator")

    @property
    def api_key(self) -> str:
        return next(iter(self.config.api_keys), DEFAULT_KEY)

    @property
    def state(self) -> EmulatorState:
        state: EmulatorState = self.app.state.emulator
        return state

    def set_faults(self, plan: FaultPlan | dict[str, Any] | None) -> None:
        """Replace the fault plan (None clears it), as ``POST /_emulator/faults`` does."""
        if plan is None:
            self.state.faults.clear()
        else:
            self.state.faults.set(plan if isinstance(plan, FaultPlan) else FaultPlan.model_validate(plan))

    def truth(self, hashes: bool = True) -> dict[str, Any]:
        """What ``GET /_emulator/truth`` answers: every job, its final state, the sha256 of its bytes."""
        return truth(self.state, hashes)
