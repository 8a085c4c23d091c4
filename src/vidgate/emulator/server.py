"""Run the emulator as a real HTTP server on loopback, in a background thread (tests, demo, --emulator)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from vidgate.emulator.app import create_app
from vidgate.emulator.control import truth
from vidgate.emulator.fault_plan import FaultPlan
from vidgate.emulator.state import DEFAULT_KEY, EmulatorConfig, EmulatorState


class EmulatorServer:
    """``with EmulatorServer() as emu: emu.url, emu.api_key, emu.state.counts``. Binds 127.0.0.1 only."""

    def __init__(self, config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or EmulatorConfig()
        self.app = create_app(self.config)
        self.host = host
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto is TCP; with
        # proto 0 every answer written in two parts waits ~40 ms for a delayed ACK (Nagle).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off"))
        self._thread = threading.Thread(target=self._run, name="vidgate-emulator", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

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

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def start(self) -> EmulatorServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
