"""``vidgate serve --public-url`` with the aggregators: fal, Replicate and OpenRouter creates carry the gateway's
signed-delivery URL (``/hooks/fal``, ``/hooks/replicate``, ``/hooks/openrouter``); the emulator signs each
delivery, the receiver verifies it (JWKS, fetched secret, HMAC) and wakes the job, which is then read once."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from tests.gateway.helpers import EMU_KEY_ENV, bearer, env_for, gateway_config, wait_done
from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.emulator.dialects.openrouter import WEBHOOK_SECRET
from vidgate.engine.callbacks import FAL_JWKS_ENV, OPENROUTER_SECRET_ENV
from vidgate.server.config import RouteConfig
from vidgate.server.run import GatewayServer

SCALE = 0.004
CASES = {  # provider: (model, seconds, the emulator's counter of webhooks sent)
    "fal": (
        "fal/fal-ai/kling-video/v2.6/pro/text-to-video",
        "5",
        "fal webhook sent",
    ),
    "replicate": ("replicate/kwaivgi/kling-v2.1-master", "5", "replicate webhook sent"),
    "openrouter": ("openrouter/google/veo-3.1", "4", "openrouter webhook sent"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_aggregator_jobs_carry_the_signed_hook_url_and_are_woken_by_it(tmp_path: Path) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    with EmulatorServer(EmulatorConfig(time_scale=SCALE)) as emu:
        routes = [RouteConfig(name=p, provider=p, base_url=emu.url, api_key_env=EMU_KEY_ENV) for p in CASES]
        config = gateway_config(emu, tmp_path, routes=routes, public_url=public, time_scale=SCALE)
        env = env_for(emu, tmp_path, **{
            FAL_JWKS_ENV: f"{emu.url}/.well-known/jwks.json",
            OPENROUTER_SECRET_ENV: WEBHOOK_SECRET,
            "VIDGATE_REPLICATE_BASE_URL": emu.url,  # the account secret is fetched from here, once
            "VIDGATE_REPLICATE_API_KEY": emu.api_key,
        })  # fmt: skip
        with GatewayServer(config, env=env, port=port) as gw, httpx.Client(base_url=gw.url, timeout=30) as http:
            key = gw.create_key("hooks")
            made = {}
            for provider, (model, seconds, _) in CASES.items():
                answer = http.post("/v1/videos", json={"prompt": "a paper boat", "model": model, "seconds": seconds},
                                   headers=bearer(key))  # fmt: skip
                assert answer.status_code == 200, answer.text
                made[provider] = answer.json()["id"]
                job = gw.gateway.store.get(made[provider])
                assert job.request is not None and job.request.webhook_url == f"{public}/hooks/{provider}"
            for provider, video_id in made.items():
                assert wait_done(http, video_id, key)["status"] == "completed", provider
            receiver = gw.gateway.callbacks.receiver if gw.gateway.callbacks else None
            assert receiver is not None
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(receiver.counts[f"{p} accepted"] for p in CASES):
                time.sleep(0.02)
            accepted = {p: receiver.counts[f"{p} accepted"] for p in CASES}
        for provider, (_, _, sent) in CASES.items():
            assert emu.state.counts[sent] >= 1, (provider, dict(emu.state.counts))
            assert accepted[provider] >= 1, (provider, accepted)
        # Replicate was asked for the final event only; its secret was fetched once
        assert emu.state.counts["replicate webhook sent"] == 1
        assert emu.state.counts["GET /v1/webhooks/default/secret"] == 1
