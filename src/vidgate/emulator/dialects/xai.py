"""xAI's Grok Imagine video API, emulated from the reference text (providers-2026.md §10), independently of
vidgate's catalog: its own model table and checks.

Routes: ``POST /v1/videos/generations`` -> ``{"request_id"}``; ``GET /v1/videos/{request_id}`` ->
``{status: pending|done, video: {url, duration, upsampled_prompt}, model, usage: {cost_in_usd_ticks}}``.
``GET /v1/videos/{id}`` is also the OpenAI-format retrieve route: ``XaiIdRoute`` matches only the ids of xAI
requests this emulator made, so it must be listed before the OpenAI-format routes.

The reference documents neither the error body nor terminal words other than ``done`` (§12). The emulator's
choices: errors ``{"code": <text>, "error": <message>}``; the config's ``fail_trigger`` ends ``done`` without a
URL and ``respect_moderation: false`` (a moderation block); ``EXPIRE_TRIGGER`` ends ``expired``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, Route
from starlette.types import Scope

from vidgate.emulator.dialects._common import EmuHTTPError, bearer_ok, is_image_ref
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "xai"
EXPIRE_TRIGGER = "EXPIRE_ME"
LATENCY_S = 90.0
MAX_PROMPT = 4096
# model -> needs an image (Video 1.5 is image-to-video only, per OpenClaw [3P])
MODELS: dict[str, bool] = {
    "grok-imagine-video": False,
    "grok-imagine-video-beta": False,  # deprecated, aliased
    "grok-imagine-video-1.5-preview": True,
    "grok-imagine-video-1.5": True,
    "grok-imagine-video-1.5-lite": True,
}
ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
RESOLUTIONS = ("480p", "720p")
FIELDS = {"model", "prompt", "duration", "aspect_ratio", "resolution", "image", "reference_images",
          "reference_audios", "seed", "size", "output", "user"}  # fmt: skip
PRICE_PER_S = {"480p": 0.05, "720p": 0.07}
CODES = {400: "Client specified an invalid argument", 401: "Unauthenticated", 404: "Not found",
         429: "Too many requests"}  # fmt: skip


class XaiEmuError(EmuHTTPError):
    def response(self) -> JSONResponse:
        return JSONResponse({"code": CODES.get(self.status, "Internal error"), "error": self.message},
                            status_code=self.status)  # fmt: skip


def _url_ok(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("url"), str) and is_image_ref(value["url"])


def check_body(body: dict[str, Any]) -> None:
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise XaiEmuError(400, f"unknown field(s): {', '.join(unknown)}")
    model = body.get("model", "grok-imagine-video")
    if model not in MODELS:
        raise XaiEmuError(404, f"The model {model} does not exist or your team does not have access to it.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_PROMPT:
        raise XaiEmuError(400, f"prompt: a non-empty string of at most {MAX_PROMPT} characters is required")
    d = body.get("duration", 8)
    if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 15:
        raise XaiEmuError(400, "duration: an integer from 1 to 15")
    if "aspect_ratio" in body and body["aspect_ratio"] not in ASPECTS:
        raise XaiEmuError(400, f"aspect_ratio: one of {', '.join(ASPECTS)}")
    if "resolution" in body and body["resolution"] not in RESOLUTIONS:
        raise XaiEmuError(400, "resolution: 480p or 720p")
    if "image" in body and not _url_ok(body["image"]):
        raise XaiEmuError(400, "image: {url} with a public URL or a data URI")
    refs = body.get("reference_images")
    if refs is not None and (not isinstance(refs, list) or not refs or not all(_url_ok(r) for r in refs)):
        raise XaiEmuError(400, "reference_images: a list of {url}")
    if "image" in body and refs is not None:
        raise XaiEmuError(400, "image and reference_images cannot be used together")
    if MODELS[model] and "image" not in body:
        raise XaiEmuError(400, f"{model} is image-to-video only: image is required")
    if "seed" in body and (isinstance(body["seed"], bool) or not isinstance(body["seed"], int)):
        raise XaiEmuError(400, "seed: an integer")


class XaiIdRoute(Route):
    """``GET /v1/videos/{request_id}`` for xAI requests only (the same path is the OpenAI-format retrieve)."""

    def __init__(self, path: str, endpoint: Any, state: EmulatorState) -> None:
        super().__init__(path, endpoint, methods=["GET"], name="xai-get")
        self.emulator_state = state

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        job = self.emulator_state.jobs.get(child.get("path_params", {}).get("request_id", ""))
        return (match, child) if job is not None and job.dialect == DIALECT else (Match.NONE, {})


def routes(state: EmulatorState) -> list[Route]:
    def auth(request: Request) -> None:
        if not bearer_ok(request, state):
            raise XaiEmuError(401, "Incorrect API key provided")

    async def create(request: Request) -> JSONResponse:
        state.count("POST /v1/videos/generations")
        auth(request)
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise XaiEmuError(400, "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise XaiEmuError(400, "the body must be a JSON object")
        check_body(body)
        prompt = body["prompt"].lower()
        queue_s, render_s = state.timing(LATENCY_S)
        trigger = state.config.fail_trigger.lower()
        job = EmuJob(
            task_id=str(uuid.uuid4()),
            dialect=DIALECT,
            model=str(body.get("model", "grok-imagine-video")),
            body=body,
            created=state.config.clock(),
            duration=float(body.get("duration", 8)),
            aspect_ratio=str(body.get("aspect_ratio") or "16:9"),
            fail_reason="moderation" if trigger and trigger in prompt else None,
            # resolution 480p|720p (§10; 480p when none: the cheaper tier, the emulator's choice); Grok Imagine
            # videos carry sound (the reference lists reference_audios; 24 fps is the emulator's choice)
            output=OutputVideo(
                *output_size(str(body.get("aspect_ratio") or "16:9"), str(body.get("resolution") or "480p")),
                fps=24,
                audio=True,
            ),
            queue_s=queue_s,
            render_s=render_s,
        )
        if EXPIRE_TRIGGER.lower() in prompt:
            job.fail_reason = "expired"
        job.meta["resolution"] = body.get("resolution", "480p")
        state.add(job)
        return JSONResponse({"request_id": job.task_id})

    async def get(request: Request) -> JSONResponse:
        state.count("GET /v1/videos/{request_id}")
        auth(request)
        job = state.jobs[request.path_params["request_id"]]  # XaiIdRoute matched: it exists
        return JSONResponse(generation(state, job, str(request.base_url)))

    return [
        Route("/v1/videos/generations", create, methods=["POST"], name="xai-create"),
        XaiIdRoute("/v1/videos/{request_id}", get, state),
    ]


def generation(state: EmulatorState, job: EmuJob, base_url: str) -> dict[str, Any]:
    phase, _ = state.phase(job)
    body: dict[str, Any] = {"status": "pending", "model": job.model}
    if phase != "done":
        return body
    if job.fail_reason == "expired":
        return {"status": "expired", "model": job.model}
    body["status"] = "done"
    if job.fail_reason:
        body["video"] = {"url": None, "duration": 0, "respect_moderation": False}
        return body
    price = PRICE_PER_S.get(str(job.meta.get("resolution")), 0.05) * job.duration
    body["video"] = {"url": f"{base_url.rstrip('/')}/cdn/{job.file_token}.mp4", "duration": job.duration,
                     "upsampled_prompt": job.body["prompt"], "respect_moderation": True}  # fmt: skip
    body["usage"] = {"cost_in_usd_ticks": round(price * 1e10)}
    return body
