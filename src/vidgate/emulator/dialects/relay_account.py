"""The relay account, emulated: ``GET /v1/models`` and the account webhook ("通知设置-WebHook").

``GET /v1/models`` lists, in OpenAI format with new-api's ``supported_endpoint_types``, every model the
emulated relay host serves (/v2, /v1/videos and the Zhipu pass-through, from ``emulator/facts.py``; the chat
``sora_video2`` family, from the chat emulator's own list) and a few chat models, minus
``EmulatorConfig.models_hidden`` plus ``models_extra`` (``POST /_emulator/models`` changes both at runtime).

``POST /_emulator/quota-webhook {"url": ..., "quota": 0.5}`` makes the emulator send the documented
account webhook to ``url``: ``POST`` with ``Content-Type: application/json``, ``Authorization: Bearer
<the account's key>`` and ``{"topic": "user_quota_too_low", "data": {"quota": 0.5}}``. ``api_key`` and
``topic`` in the request override the key and the topic (to test a receiver's refusals). The answer
reports the receiver's status and body.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.emulator.dialects import relay_chat
from vidgate.emulator.dialects._common import EmuHTTPError, json_object, require_bearer
from vidgate.emulator.facts import RELAY_V1_SECONDS, RELAY_V2_MODELS, RELAY_ZHIPU_MODELS
from vidgate.emulator.state import DEFAULT_KEY, EmulatorState

CHAT_MODELS = ("gpt-4o-mini", "gpt-4o-image", "gemini-2.5-pro")
CREATED = 1626777600
QUOTA_TOPIC = "user_quota_too_low"
WEBHOOK_TIMEOUT_S = 10.0


def host_models() -> list[str]:
    """Every video model this relay host serves (/v2, /v1/videos, the Zhipu pass-through)."""
    return sorted({*RELAY_V2_MODELS, *RELAY_V1_SECONDS, *RELAY_ZHIPU_MODELS})


def listed_models(state: EmulatorState) -> list[dict[str, Any]]:
    rows = [_row(m, "openai-video") for m in host_models()]
    rows += [_row(m, "openai") for m in sorted(relay_chat.MODELS)]  # chat-format video: the chat endpoint
    rows += [_row(m, "openai") for m in CHAT_MODELS]
    rows += [_row(m, "openai") for m in state.config.models_extra]
    hidden = state.config.models_hidden
    seen: set[str] = set()
    out = []
    for row in rows:
        if row["id"] not in hidden and row["id"] not in seen:
            seen.add(row["id"])
            out.append(row)
    return out


def _row(model: str, endpoint: str) -> dict[str, Any]:
    owner = "google" if model.startswith(("veo", "gemini")) else "openai"
    return {
        "id": model,
        "object": "model",
        "created": CREATED,
        "owned_by": owner,
        "supported_endpoint_types": [endpoint],
    }


def routes(state: EmulatorState) -> list[Route]:
    async def models(request: Request) -> JSONResponse:
        state.count("GET /v1/models")
        require_bearer(request, state)
        return JSONResponse({"object": "list", "data": listed_models(state), "success": True})

    async def configure_models(request: Request) -> JSONResponse:
        body = await json_object(request)
        hidden, extra = body.get("hidden", []), body.get("extra", [])
        if not all(isinstance(x, str) for x in [*hidden, *extra]):
            raise EmuHTTPError(400, "hidden and extra are arrays of model ids")
        state.config.models_hidden = set(hidden)
        state.config.models_extra = list(extra)
        return JSONResponse({"hidden": sorted(state.config.models_hidden), "extra": state.config.models_extra})

    async def quota_webhook(request: Request) -> JSONResponse:
        state.count("POST /_emulator/quota-webhook")
        body = await json_object(request)
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise EmuHTTPError(400, "url (the receiver's http(s) URL) is required", "invalid_param", "url")
        quota = body.get("quota", 0.5)
        key = body.get("api_key") or next(iter(sorted(state.config.api_keys)), DEFAULT_KEY)
        payload = {"topic": body.get("topic", QUOTA_TOPIC), "data": {"quota": quota}}
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        try:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S) as client:
                sent = await client.post(url, content=json.dumps(payload).encode(), headers=headers)
        except httpx.HTTPError as exc:
            raise EmuHTTPError(502, f"the receiver could not be reached: {exc}", "webhook_unreachable") from None
        return JSONResponse({"status": sent.status_code, "body": sent.text, "sent": payload})

    return [
        Route("/v1/models", models, methods=["GET"]),
        Route("/_emulator/models", configure_models, methods=["POST"]),
        Route("/_emulator/quota-webhook", quota_webhook, methods=["POST"]),
    ]
