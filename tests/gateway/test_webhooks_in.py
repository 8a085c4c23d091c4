"""``vidgate serve --public-url``: the gateway receives provider webhooks under /hooks, sends each relay job with
its own callback URL, and a delivery makes the embedded worker fetch the job's status at once."""

from __future__ import annotations

import io
import logging
import socket
from pathlib import Path

import httpx
import pytest

from tests.gateway.helpers import bearer, env_for, gateway_config, wait_done
from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.server.logs import JsonFormatter, Redactor
from vidgate.server.run import GatewayServer

SCALE = 0.004  # sora-2: 120 s typical -> about half a second
STATUS = "GET /v2/videos/generations/{task_id}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def emu() -> EmulatorServer:
    with EmulatorServer(EmulatorConfig(time_scale=SCALE)) as server:
        yield server  # type: ignore[misc]


def test_relay_jobs_are_finished_by_their_callback(
    emu: EmulatorServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    config = gateway_config(emu, tmp_path, public_url=public, time_scale=SCALE)
    caplog.set_level(logging.INFO, logger="vidgate.access")
    written = io.StringIO()
    json_log = logging.StreamHandler(written)
    json_log.setFormatter(JsonFormatter(Redactor()))
    logging.getLogger("vidgate.access").addHandler(json_log)
    with GatewayServer(config, env=env_for(emu, tmp_path), port=port) as gw, httpx.Client(base_url=gw.url) as http:
        key = gw.create_key("hooks")
        made = http.post("/v1/videos", json={"prompt": "a paper boat", "model": "sora-2", "seconds": "10"},
                         headers=bearer(key)).raise_for_status().json()  # fmt: skip
        job = gw.gateway.store.get(made["id"])
        assert job.request is not None and (job.request.webhook_url or "").startswith(f"{public}/hooks/relay/")
        assert wait_done(http, made["id"], key)["status"] == "completed"
        assert gw.gateway.callbacks is not None
        assert gw.gateway.callbacks.receiver.counts["relay accepted"] >= 1
        # a forged token is refused and wakes nothing
        forged = job.request.webhook_url.rsplit("/", 1)[0] + "/v1forged"
        assert http.post(httpx.URL(forged).path, json={"task_id": job.provider_task_id}).status_code == 401
    assert emu.state.counts["notify_hook sent"] >= 1
    assert emu.state.counts[STATUS] == 1  # the callback found it: one status fetch, no polling
    logging.getLogger("vidgate.access").removeHandler(json_log)
    token = job.request.webhook_url.rsplit("/", 1)[1]
    assert "/hooks/relay/" in written.getvalue() and "/hooks/relay/" in caplog.text
    assert token not in caplog.text and token not in written.getvalue()  # the token never reaches a log
