"""Over loopback: the emulator's Replicate dialect POSTs Standard-Webhooks-signed prediction objects (start and
completed, per webhook_events_filter) to a vidgate receiver (``/hooks/replicate``) whose secret is fetched once
from the emulator's GET /v1/webhooks/default/secret."""

from __future__ import annotations

import time

import httpx

from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.net.loopback import LoopbackServer
from vidgate.webhooks import WebhookHint, WebhookReceiver
from vidgate.webhooks.receiver import StandardWebhookSource
from vidgate.webhooks.replicate import ReplicateSecret


def test_emulator_webhooks_are_verified_with_the_fetched_secret() -> None:
    hints: list[WebhookHint] = []

    async def on_hint(hint: WebhookHint) -> None:
        hints.append(hint)

    with EmulatorServer(EmulatorConfig(time_scale=0.002)) as emu:
        secret = ReplicateSecret(base_url=emu.url, api_key=emu.api_key)
        wrong = ReplicateSecret("whsec_" + "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=")
        good = WebhookReceiver(on_hint=on_hint, sources=[StandardWebhookSource.replicate(secret)])
        bad = WebhookReceiver(on_hint=on_hint, sources=[StandardWebhookSource.replicate(wrong)])
        with LoopbackServer(good.app()) as hooks, LoopbackServer(bad.app()) as bad_hooks:
            ids = []
            for url, events in ((hooks.url, ["start", "completed"]), (bad_hooks.url, ["completed"])):
                body = {"input": {"prompt": "a kite", "duration": 5}, "webhook": f"{url}/hooks/replicate",
                        "webhook_events_filter": events}  # fmt: skip
                created = httpx.post(f"{emu.url}/v1/models/kwaivgi/kling-v2.1-master/predictions", json=body,
                                     headers={"Authorization": f"Bearer {emu.api_key}"})  # fmt: skip
                assert created.status_code == 201, created.text
                ids.append(created.json()["id"])
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and (
                emu.state.counts["replicate webhook sent"] + emu.state.counts["replicate webhook failed"] < 3
            ):
                time.sleep(0.02)
    assert {h.provider_task_id for h in hints} == {ids[0]}
    assert sorted(h.event_type for h in hints) == ["prediction.starting", "prediction.succeeded"]
    assert secret.fetches == 1 and emu.state.counts["GET /v1/webhooks/default/secret"] == 1
    assert emu.state.counts["replicate webhook sent"] == 2 and emu.state.counts["replicate webhook failed"] == 1
