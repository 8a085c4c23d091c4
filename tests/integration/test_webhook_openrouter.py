"""Over loopback: the emulator's OpenRouter dialect POSTs a signed ``video.generation.completed`` webhook to a
vidgate receiver (``/hooks/openrouter``), which verifies ``X-OpenRouter-Signature`` and hands on one hint."""

from __future__ import annotations

import time

import httpx

from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.emulator.dialects.openrouter import WEBHOOK_SECRET
from vidgate.net.loopback import LoopbackServer
from vidgate.webhooks import WebhookHint, WebhookReceiver
from vidgate.webhooks.receiver import StandardWebhookSource


def test_emulator_webhook_is_verified_by_the_receiver() -> None:
    hints: list[WebhookHint] = []

    async def on_hint(hint: WebhookHint) -> None:
        hints.append(hint)

    good = WebhookReceiver(on_hint=on_hint, sources=[StandardWebhookSource.openrouter(WEBHOOK_SECRET)])
    wrong = WebhookReceiver(on_hint=on_hint, sources=[StandardWebhookSource.openrouter("not-the-secret")])
    with (
        EmulatorServer(EmulatorConfig(time_scale=0.002)) as emu,
        LoopbackServer(good.app()) as hooks,
        LoopbackServer(wrong.app()) as bad_hooks,
    ):
        ids = []
        for url in (f"{hooks.url}/hooks/openrouter", f"{bad_hooks.url}/hooks/openrouter"):
            body = {"model": "google/veo-3.1", "prompt": "a kite", "duration": 4, "callback_url": url}
            created = httpx.post(f"{emu.url}/api/v1/videos", json=body,
                                 headers={"Authorization": f"Bearer {emu.api_key}"})  # fmt: skip
            assert created.status_code == 202, created.text
            ids.append(created.json()["id"])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
            emu.state.counts["openrouter webhook sent"] + emu.state.counts["openrouter webhook failed"] < 2
        ):
            time.sleep(0.02)
    assert [h.provider_task_id for h in hints] == [ids[0]]
    assert hints[0].event_type == "video.generation.completed" and hints[0].webhook_id == f"{ids[0]}-completed"
    assert emu.state.jobs[ids[0]].meta["webhook_status"] == 200
    assert emu.state.jobs[ids[1]].meta["webhook_status"] == 401  # wrong secret: refused
