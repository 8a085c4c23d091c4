"""Property-based fuzzing of the gateway's own OpenAPI document (Schemathesis): whatever a client sends to
any operation — valid or deliberately invalid bodies, queries and path parameters — the gateway never
answers 5xx, and every refusal is in OpenAI's error shape.

Bounded for the suite: derandomized (a fixed seed), a few examples per operation and mode, no deadline.
The app runs in-process (ASGI) with no background threads; creates really reach the emulator.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.gateway.helpers import bearer, env_for, gateway_config
from vidgate.emulator import EmulatorServer
from vidgate.server import Gateway, create_app
from vidgate.server.tenants import create_key

EXAMPLES = 6
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


@pytest.fixture
def target(emulator: EmulatorServer, tmp_path: Path) -> Iterator[tuple[Any, str]]:
    gw = Gateway(gateway_config(emulator, tmp_path, max_body_bytes=256 * 1024), env=env_for(emulator, tmp_path))
    app = create_app(gateway=gw, start=False)
    yield app, create_key(gw.data, "fuzz").token
    gw.close()


def fuzz(operation: Any, mode: schemathesis.GenerationMode, key: str, failures: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers={**(case.headers or {}), **bearer(key)})
        where = f"{case.method} {case.formatted_path} ({mode.value})"
        if response.status_code >= 500:
            failures.append(f"{where}: {response.status_code} {response.text[:300]}")
        elif response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            error = response.json().get("error")
            if not isinstance(error, dict) or not {"message", "type", "param", "code"} <= set(error):
                failures.append(f"{where}: {response.status_code} not in OpenAI's error shape")

    with contextlib.suppress(Unsatisfiable):  # e.g. an operation without parameters has no invalid form
        run()


def test_no_input_makes_the_gateway_fail(target: tuple[Any, str]) -> None:
    app, key = target
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures: list[str] = []
    for operation in operations:
        for mode in MODES:
            fuzz(operation, mode, key, failures)
    assert failures == []
