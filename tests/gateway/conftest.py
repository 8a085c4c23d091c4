"""Gateway fixtures: a real gateway (uvicorn on loopback) whose routes point at the session's emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.helpers import env_for, gateway_config
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer


@pytest.fixture
def gateway(emulator: EmulatorServer, tmp_path: Path) -> Iterator[GatewayServer]:
    with GatewayServer(gateway_config(emulator, tmp_path), env=env_for(emulator, tmp_path)) as server:
        yield server


@pytest.fixture
def http(gateway: GatewayServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        yield client


@pytest.fixture
def key(gateway: GatewayServer) -> str:
    return gateway.create_key("alice")
