"""The relay's character endpoint, emulated: ``POST /sora/v1/characters``.

Strict like the documented schema: ``timestamps`` ("start,end", span 1 to 3 s) and exactly one of ``url``
/ ``from_task``; any other field is refused, and a ``model`` field gets the 404 "channel not found" that
integrators report from the real relay. ``from_task`` must name a finished, successful task of this
emulator (any door: /v2, chat, /v1/videos).
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.emulator.dialects._common import EmuHTTPError, json_object, require_bearer
from vidgate.emulator.state import EmulatorState

PATH = "/sora/v1/characters"
FIELDS = {"timestamps", "url", "from_task"}
PERMALINK = "https://sora.chatgpt.com/profile/{username}"
_ANIMALS = ("oddwingduo", "mistpaw", "emberfin", "quillhop", "dunehorn", "mossbeak")


def check_character(state: EmulatorState, body: dict[str, Any]) -> None:
    if "model" in body:
        raise EmuHTTPError(
            404,
            "channel not found: /sora/v1/characters takes no model field (当前分组下对于模型 "
            f"{body['model']!r} 无可用渠道)",
            "channel_not_found",
            "model",
        )
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise EmuHTTPError(400, f"unknown field(s) {unknown}", "invalid_param", unknown[0])
    timestamps = body.get("timestamps")
    if not isinstance(timestamps, str):
        raise EmuHTTPError(400, 'timestamps is required: "start,end" in seconds', "invalid_param", "timestamps")
    try:
        start, end = (float(x) for x in timestamps.split(","))
    except ValueError:
        raise EmuHTTPError(400, 'timestamps must be "start,end" in seconds', "invalid_param", "timestamps") from None
    if start < 0 or not 1 <= end - start <= 3:
        raise EmuHTTPError(400, "the timestamps span must be 1 to 3 seconds", "invalid_param", "timestamps")
    given = [k for k in ("url", "from_task") if body.get(k) not in (None, "")]
    if len(given) != 1:
        raise EmuHTTPError(400, "exactly one of url and from_task is required", "invalid_param", "url")
    if "url" in given and not (isinstance(body["url"], str) and body["url"].startswith(("http://", "https://"))):
        raise EmuHTTPError(400, "url must be an http(s) video URL", "invalid_param", "url")
    if "from_task" in given:
        task_id = body["from_task"]
        job = state.jobs.get(task_id) if isinstance(task_id, str) else None
        if job is None:
            raise EmuHTTPError(404, f"task {task_id!r} not found", "task_not_found", "from_task")
        if state.phase(job)[0] != "done" or job.fail_reason:
            raise EmuHTTPError(400, f"task {task_id} has no finished video", "task_not_finished", "from_task")


def routes(state: EmulatorState) -> list[Route]:
    async def create(request: Request) -> JSONResponse:
        state.count(f"POST {PATH}")
        require_bearer(request, state)
        body = await json_object(request)
        check_character(state, body)
        username = f"emu{secrets.token_hex(3)}.{secrets.choice(_ANIMALS)}"
        base = str(request.base_url).rstrip("/")
        character_id = "ch_" + secrets.token_hex(16)
        return JSONResponse(
            {
                "id": character_id,
                "username": username,
                "permalink": PERMALINK.format(username=username),
                "profile_picture_url": f"{base}/cdn/characters/{character_id}.webp",
            }
        )

    return [Route(PATH, create, methods=["POST"])]
