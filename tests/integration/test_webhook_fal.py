"""Over loopback: the emulator's fal dialect POSTs an ED25519-signed webhook (``?fal_webhook=``) to a vidgate
receiver (``/hooks/fal``), which fetches the emulator's JWKS, verifies the signature and hands on one hint."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.catalog import load_catalog
from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.engine.callbacks import FAL_JWKS_ENV, wire_callbacks
from vidgate.net.loopback import LoopbackServer
from vidgate.store import MemoryStore
from vidgate.webhooks import WebhookHint, WebhookReceiver
from vidgate.webhooks.fal import FalJwks, fal_hint, signed_message
from vidgate.webhooks.receiver import StandardWebhookSource


def other_jwks(url: str) -> dict[str, Any]:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}]}


def test_emulator_webhook_is_verified_by_the_receiver() -> None:
    hints: list[WebhookHint] = []

    async def on_hint(hint: WebhookHint) -> None:
        hints.append(hint)

    with EmulatorServer(EmulatorConfig(time_scale=0.002)) as emu:
        keys = FalJwks(f"{emu.url}/.well-known/jwks.json")
        good = WebhookReceiver(on_hint=on_hint, sources=[StandardWebhookSource("fal", (), fal_hint, "fal",
                                                                                verify=keys.verify)])  # fmt: skip
        wrong = WebhookReceiver(on_hint=on_hint, sources=[StandardWebhookSource(
            "fal", (), fal_hint, "fal", verify=FalJwks(fetch=other_jwks).verify)])  # fmt: skip
        with LoopbackServer(good.app()) as hooks, LoopbackServer(wrong.app()) as bad_hooks:
            ids = []
            for url in (f"{hooks.url}/hooks/fal", f"{bad_hooks.url}/hooks/fal"):
                created = httpx.post(f"{emu.url}/fal-ai/kling-video/v2.6/pro/text-to-video",
                                     params={"fal_webhook": url}, json={"prompt": "a kite", "duration": "5"},
                                     headers={"Authorization": f"Key {emu.api_key}"})  # fmt: skip
                assert created.status_code == 200, created.text
                ids.append(created.json()["request_id"])
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and (
                emu.state.counts["fal webhook sent"] + emu.state.counts["fal webhook failed"] < 2
            ):
                time.sleep(0.02)
    assert [h.provider_task_id for h in hints] == [ids[0]]
    assert hints[0].event_type == "fal.OK"
    assert emu.state.jobs[ids[0]].meta["webhook_status"] == 200
    assert emu.state.jobs[ids[1]].meta["webhook_status"] == 401
    assert keys.fetches == 1


def test_vidgate_serve_wires_the_fal_receiver_with_the_configured_jwks(tmp_path: Any) -> None:

    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}]}

    async def serve(request: Any) -> JSONResponse:
        return JSONResponse(jwks)

    with LoopbackServer(Starlette(routes=[Route("/jwks.json", serve)])) as keys_server:
        env = {FAL_JWKS_ENV: f"{keys_server.url}/jwks.json"}
        hooks = wire_callbacks(MemoryStore(), load_catalog(), public_url="https://vg.example", notify_key=b"k" * 32,
                               env=env)  # fmt: skip
        source = next(s for s in hooks.receiver.sources if s.path == "fal")
        body = json.dumps({"request_id": "r1", "status": "OK", "payload": {}}).encode()
        now = int(time.time())
        sig = key.sign(signed_message("r1", "u1", str(now), body)).hex()
        headers = {"X-Fal-Webhook-Request-Id": "r1", "X-Fal-Webhook-User-Id": "u1",
                   "X-Fal-Webhook-Timestamp": str(now), "X-Fal-Webhook-Signature": sig}  # fmt: skip
        assert source.verify is not None
        assert source.verify(body, headers, (), now=now).webhook_id == "r1"
