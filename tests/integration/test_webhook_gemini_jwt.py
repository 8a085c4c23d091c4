"""A Gemini dynamic webhook (per-request ``webhook_config``, an RS256 JWT) wakes its job; a forged one is a 401.

google-2026.md: "Per request, `"webhook_config":{"uris":["https://…"],"user_metadata":{…}}`" and core-providers.md
§2.8: "Signed with an **asymmetric JWT (RS256)** in `webhook-signature`, verified via JWKS". The receiver is wired
the way ``vidgate serve --public-url`` wires it (``wire_callbacks``); Google's key set is a local RSA key served
on loopback (``VIDGATE_GEMINI_JWKS_URL``), fetched by the real default fetcher. Never the internet.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.client import AsyncClient
from vidgate.emulator import EmulatorServer
from vidgate.engine.callbacks import wire_callbacks
from vidgate.engine.polling import PollPolicy
from vidgate.engine.worker import Worker
from vidgate.net.loopback import LoopbackServer
from vidgate.store import MemoryStore
from vidgate.webhooks.relay_notify import RelayNotifyTokens

PUBLIC = "https://vg.example.com"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
FORGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STATUS = "GET /v1beta/interactions/{id}"


def jwks_app(hits: list[int]) -> Starlette:
    public = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "g1", "alg": "RS256"}

    async def keys(request: Any) -> JSONResponse:
        hits.append(1)
        return JSONResponse({"keys": [public]})

    return Starlette(routes=[Route("/.well-known/jwks.json", keys)])


def delivery(task_id: str, signer: Any, wid: str) -> tuple[bytes, dict[str, str]]:
    now = int(time.time())
    body = json.dumps({"type": "interaction.completed", "version": "v1", "data": {"id": task_id}}).encode()
    claims = {"iss": "https://generativelanguage.googleapis.com", "aud": f"{PUBLIC}/hooks/gemini",
              "iat": now, "exp": now + 300}  # fmt: skip
    token = jwt.encode(claims, signer, algorithm="RS256", headers={"kid": "g1"})
    return body, {"webhook-id": wid, "webhook-timestamp": str(now), "webhook-signature": token}


def test_a_google_signed_dynamic_webhook_wakes_the_job_and_a_forged_one_is_refused(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    hits: list[int] = []

    async def scenario(jwks_url: str) -> None:
        store = MemoryStore()
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               store=store, downloads_dir=tmp_path, env={}) as client:  # fmt: skip
            env = {"VIDGATE_GEMINI_JWKS_URL": jwks_url}  # no static secret: dynamic deliveries only
            notify_key = RelayNotifyTokens.generate_key()
            callbacks = wire_callbacks(store, client.catalog, public_url=PUBLIC, notify_key=notify_key, env=env,
                                       now=client.now)  # fmt: skip
            worker = Worker(client.engine, worker_id="w", concurrency=1)
            job = await client.submit("a red ball rolls", model="gemini/gemini-omni-1.2-flash",
                                      webhook_url=f"{PUBLIC}/hooks/gemini")  # fmt: skip
            assert job.provider_task_id
            job = client.store.save(job.model_copy(update={"next_poll_at": client.now() + timedelta(hours=1)}))
            assert await worker.run_round() == 0  # nothing due: polling alone would wait an hour
            transport = httpx.ASGITransport(app=callbacks.receiver.app())
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
                body, hdrs = delivery(job.provider_task_id, FORGER, "wh_forged")
                forged = await http.post("/hooks/gemini", content=body, headers=hdrs)
                assert forged.status_code == 401 and forged.json()["error"]["code"] == "bad_signature"
                assert await worker.run_round() == 0  # a forged delivery wakes nothing
                body, hdrs = delivery(job.provider_task_id, KEY, "wh_1")
                good = await http.post("/hooks/gemini", content=body, headers=hdrs)
                assert good.status_code == 200 and good.json() == {"status": "accepted"}
                again = await http.post("/hooks/gemini", content=body, headers=hdrs)
                assert again.json() == {"status": "duplicate"}
            before = emulator.state.counts[STATUS]
            assert await worker.run_round() == 1  # woken: one status fetch now
            assert emulator.state.counts[STATUS] == before + 1

    with LoopbackServer(jwks_app(hits)) as keys:
        asyncio.run(scenario(f"{keys.url}/.well-known/jwks.json"))
    assert len(hits) == 1  # fetched once, then cached
