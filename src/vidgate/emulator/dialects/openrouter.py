"""OpenRouter's video API, emulated: ``POST /api/v1/videos`` (202), ``GET /api/v1/videos/{id}``,
``GET /api/v1/videos/{id}/content?index=N`` and ``GET /api/v1/videos/models``.

Written from the reference text (providers-2026.md §1: OpenAPI spec typescript-sdk 90c4937, docs repo
c26125a), independently of ``vidgate.catalog``: the request enums, the error envelope
``{"error": {"code", "message", "metadata"}, "user_id": null}``, the statuses and the webhook signature are
the spec's. The per-model capability lists in ``MODELS`` are the emulator's own choices where the reference
shows no per-model values (it quotes the field names and examples such as ``[4,6,8]``); they are what
``GET /api/v1/videos/models`` answers, so vidgate's ``catalog sync`` can be tested against them.

Webhooks: a create with ``callback_url`` gets one POST when the job is final, the ``video.generation.*``
envelope, ``X-OpenRouter-Idempotency-Key: <job_id>-<status>`` and, signed with ``WEBHOOK_SECRET``,
``X-OpenRouter-Signature: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>,<body>"))``. The spec demands HTTPS;
the emulator also accepts ``http://`` loopback URLs so tests can receive them.

Triggers in the prompt: ``RATE_LIMIT`` -> 429; ``NO_CREDITS`` -> 402; the config's ``fail_trigger``
(``FAIL_POLICY``) -> the job ends ``failed`` with ``Content policy violation``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.callbacks import when_final
from vidgate.emulator.dialects._common import EmuHTTPError, bearer_ok, is_image_ref
from vidgate.emulator.files import job_video_response
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

log = logging.getLogger("vidgate.emulator")
DIALECT = "openrouter"
BASE = "/api/v1/videos"
RATE_TRIGGER = "RATE_LIMIT"
CREDITS_TRIGGER = "NO_CREDITS"
POLICY_ERROR = "Content policy violation"
WEBHOOK_SECRET = "whsec_openrouter_emulator"  # the workspace signing secret the emulator uses
LATENCY_S = 120.0  # the docs recommend polling every 10-30 s; no published latency
COST_PER_SECOND = 0.10  # usage.cost the emulator reports (USD per second of video)

# The request enums of VideoGenerationRequest (spec).
RESOLUTIONS = ("480p", "720p", "768p", "1080p", "1K", "2K", "4K")
ASPECTS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21")
FIELDS = frozenset(
    {"model", "prompt", "duration", "resolution", "aspect_ratio", "size", "frame_images", "input_references",
     "generate_audio", "seed", "callback_url", "provider", "creativity", "upscale_factor"}
)  # fmt: skip
STATUSES = ("pending", "in_progress", "completed", "failed", "cancelled", "expired")


@dataclass(frozen=True)
class EmuVideoModel:
    """One entry of ``GET /api/v1/videos/models`` (``VideoModel``), the emulator's own data."""

    id: str
    name: str
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    sizes: tuple[str, ...]
    frames: tuple[str, ...]
    audio: bool | None
    seed: bool | None
    passthrough: tuple[str, ...] = ()
    pricing: dict[str, str] = field(default_factory=dict)
    image_only_ok: bool = False  # may generate from images alone (no prompt)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "canonical_slug": self.id,
            "name": self.name,
            "created": 1767225600,
            "description": f"{self.name} (vidgate emulator)",
            "hugging_face_id": None,
            "supported_resolutions": list(self.resolutions) or None,
            "supported_aspect_ratios": list(self.aspect_ratios) or None,
            "supported_sizes": list(self.sizes) or None,
            "supported_durations": list(self.durations) or None,
            "supported_frame_images": list(self.frames) or None,
            "generate_audio": self.audio,
            "seed": self.seed,
            "allowed_passthrough_parameters": list(self.passthrough),
            "pricing_skus": dict(self.pricing) or None,
            "upscale_factor": None,
            "creativity": None,
        }


_VEO_PASS = ("personGeneration", "aspectRatio", "negativePrompt", "conditioningScale", "enhancePrompt")
_VEO_SIZES = ("1280x720", "720x1280", "1920x1080", "1080x1920")


def _veo(model_id: str, name: str, price: str) -> EmuVideoModel:
    return EmuVideoModel(
        model_id, name, (4, 6, 8), ("720p", "1080p"), ("16:9", "9:16"), _VEO_SIZES, ("first_frame", "last_frame"),
        audio=True, seed=True, passthrough=_VEO_PASS, pricing={"per-video-second": price},
    )  # fmt: skip


MODELS: dict[str, EmuVideoModel] = {
    m.id: m
    for m in (
        _veo("google/veo-3.1", "Google: Veo 3.1", "0.40"),
        _veo("google/veo-3.1-fast", "Google: Veo 3.1 Fast", "0.15"),
        _veo("google/veo-3.1-lite", "Google: Veo 3.1 Lite", "0.05"),
        EmuVideoModel(
            "kwaivgi/kling-v3.0-pro",
            "Kling 3.0 Pro",
            (5, 10),
            ("720p", "1080p"),
            ("16:9", "9:16", "1:1"),
            (),
            ("first_frame",),
            audio=False,
            seed=False,
            pricing={"per-video-second": "0.11"},
        ),
        EmuVideoModel(
            "alibaba/wan-2.7",
            "Wan 2.7",
            (5, 10),
            ("720p", "1080p"),
            ("16:9", "9:16", "1:1"),
            (),
            ("first_frame",),
            audio=True,
            seed=True,
            pricing={"per-video-second": "0.10"},
        ),
        EmuVideoModel(
            "bytedance/seedance-2.0",
            "Seedance 2.0",
            tuple(range(4, 16)),
            ("480p", "720p", "1080p", "4K"),
            ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9"),
            (),
            ("first_frame", "last_frame"),
            audio=True,
            seed=True,
            passthrough=("watermark",),
            pricing={"per-video-second-720p": "0.12"},
        ),
        EmuVideoModel(
            "bytedance/seedance-2.0-mini",
            "Seedance 2.0 Mini",
            (4, 5, 6, 8, 10),
            ("480p", "720p"),
            ("16:9", "9:16", "1:1"),
            ("854x480", "480x854", "1280x720", "720x1280"),
            ("first_frame", "last_frame"),
            audio=False,
            seed=True,
            passthrough=("watermark",),
            pricing={"per-video-second": "0.03"},
        ),
        EmuVideoModel(
            "minimax/hailuo-2.3",
            "Hailuo 2.3",
            (6, 10),
            ("768p", "1080p"),
            ("16:9",),
            (),
            ("first_frame",),
            audio=False,
            seed=False,
            pricing={"per-video": "0.28"},
        ),
    )
}


class OpenRouterEmuError(EmuHTTPError):
    """OpenRouter's error envelope: ``{"error": {"code": <status>, "message", "metadata"}, "user_id": null}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message, str(status))

    def response(self) -> JSONResponse:
        body = {"error": {"code": self.status, "message": self.message, "metadata": {}}, "user_id": None}
        return JSONResponse(body, status_code=self.status)


def _bad(message: str) -> OpenRouterEmuError:
    return OpenRouterEmuError(400, message)


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>,<body>")>`` (docs repo, video-generation-webhooks.mdx)."""
    digest = hmac.new(secret.encode(), f"{timestamp},".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def check_create(body: dict[str, Any]) -> EmuVideoModel:
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise _bad(f"Invalid request parameters: unrecognized keys {unknown}")
    model_id = body.get("model")
    if not isinstance(model_id, str) or not model_id:
        raise _bad("Invalid request parameters: model is required")
    model = MODELS.get(model_id)
    if model is None:
        raise OpenRouterEmuError(404, f"Model {model_id} not found or does not support video generation")
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise _bad("prompt must be a string")
    frames = body.get("frame_images")
    if not (prompt or "").strip() and not (model.image_only_ok and frames):
        raise _bad(f"prompt is required for {model_id}")
    duration = body.get("duration")
    if duration is not None:
        if not isinstance(duration, int) or isinstance(duration, bool) or duration < 1:
            raise _bad(f"duration must be an integer >= 1, got {duration!r}")
        if duration not in model.durations:
            raise _bad(
                f"duration {duration} is not supported by {model_id}; supported_durations: {list(model.durations)}"
            )
    _choice(body, "resolution", RESOLUTIONS, model.resolutions, model_id)
    _choice(body, "aspect_ratio", ASPECTS, model.aspect_ratios, model_id)
    size = body.get("size")
    if size is not None and size not in model.sizes:
        raise _bad(f"size {size!r} is not supported by {model_id}; supported_sizes: {list(model.sizes)}")
    for name in ("generate_audio",):
        if name in body and not isinstance(body[name], bool):
            raise _bad(f"{name} must be a boolean")
    if body.get("generate_audio") and not model.audio:
        raise _bad(f"{model_id} does not generate audio")
    if "seed" in body and (not isinstance(body["seed"], int) or isinstance(body["seed"], bool)):
        raise _bad("seed must be an integer")
    _check_frames(frames, model)
    _check_references(body.get("input_references"))
    _check_provider(body.get("provider"))
    callback = body.get("callback_url")
    if callback is not None and not _callback_ok(callback):
        raise _bad(f"callback_url must be an HTTPS URL, got {callback!r}")
    return model


def _choice(body: dict[str, Any], name: str, enum: tuple[str, ...], allowed: tuple[str, ...], model_id: str) -> None:
    value = body.get(name)
    if value is None:
        return
    if value not in enum:
        raise _bad(f"{name} must be one of {list(enum)}, got {value!r}")
    if value not in allowed:
        raise _bad(f"{name} {value!r} is not supported by {model_id}; supported: {list(allowed)}")


def _image_url(item: Any, where: str) -> None:
    url = item.get("image_url", {}).get("url") if isinstance(item.get("image_url"), dict) else None
    if item.get("type") != "image_url" or not isinstance(url, str):
        raise _bad(f"{where} must be {{type: image_url, image_url: {{url}}}}")
    if not (url.startswith("https://") or url.startswith("http://") or url.startswith("data:image/")):
        raise _bad(f"{where}.image_url.url must be an https:// or data:image/... URL")
    if url.startswith("data:") and not is_image_ref(url):
        raise _bad(f"{where}.image_url.url is not a valid base64 data URL")


def _check_frames(frames: Any, model: EmuVideoModel) -> None:
    if frames is None:
        return
    if not isinstance(frames, list) or not frames:
        raise _bad("frame_images must be a non-empty array")
    seen: set[str] = set()
    for i, item in enumerate(frames):
        if not isinstance(item, dict):
            raise _bad(f"frame_images[{i}] must be an object")
        _image_url(item, f"frame_images[{i}]")
        kind = item.get("frame_type")
        if kind not in ("first_frame", "last_frame"):
            raise _bad(f"frame_images[{i}].frame_type is required: first_frame or last_frame")
        if kind not in model.frames:
            raise _bad(f"{model.id} does not support frame_type {kind}; supported_frame_images: {list(model.frames)}")
        if kind in seen:
            raise _bad(f"frame_images has two {kind} entries")
        seen.add(kind)


def _check_references(refs: Any) -> None:
    if refs is None:
        return
    if not isinstance(refs, list):
        raise _bad("input_references must be an array")
    for i, item in enumerate(refs):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "image_url":
            _image_url(item, f"input_references[{i}]")
        elif kind in ("video_url", "audio_url"):
            inner = item.get(kind)
            if not isinstance(inner, dict) or not isinstance(inner.get("url"), str):
                raise _bad(f"input_references[{i}] must carry {kind}.url")
        else:
            raise _bad(f"input_references[{i}].type must be image_url, video_url or audio_url")


def _check_provider(provider: Any) -> None:
    if provider is None:
        return
    options = provider.get("options") if isinstance(provider, dict) else None
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise _bad("provider must be {options: {<provider-slug>: {...}}}")


def _callback_ok(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"))


def _shape(body: dict[str, Any], model: EmuVideoModel) -> str:
    if body.get("size"):
        return str(body["size"])
    return str(body.get("aspect_ratio") or model.aspect_ratios[0])


def output_video(body: dict[str, Any], model: EmuVideoModel) -> OutputVideo:
    """``size`` exactly, else the aspect ratio at ``resolution`` (default 720p, or the model's lowest when it
    has no 720p [choice]); 24 fps [choice]; sound per ``generate_audio``, which 'defaults to the endpoint's
    generate_audio capability' (providers-2026.md §1 "Request body")."""
    resolution = body.get("resolution") or ("720p" if "720p" in model.resolutions else model.resolutions[0])
    size = output_size(_shape(body, model), str(resolution))
    audio = body.get("generate_audio", model.audio) is True
    return OutputVideo(*size, fps=24, audio=audio)


def routes(state: EmulatorState) -> list[Route]:
    hooks: set[asyncio.Task[None]] = set()

    def auth(request: Request) -> None:
        if not request.headers.get("authorization"):
            raise OpenRouterEmuError(401, "Missing Authentication header")
        if not bearer_ok(request, state):
            raise OpenRouterEmuError(401, "No auth credentials found")

    def find(request: Request) -> EmuJob:
        job = state.jobs.get(request.path_params["job_id"])
        if job is None or job.dialect != DIALECT:
            raise OpenRouterEmuError(404, f"Video generation job {request.path_params['job_id']} not found")
        return job

    async def create(request: Request) -> JSONResponse:
        state.count(f"POST {BASE}")
        auth(request)
        if "application/json" not in request.headers.get("content-type", ""):
            raise _bad("Content-Type must be application/json")
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _bad("Invalid JSON body") from None
        if not isinstance(body, dict):
            raise _bad("the JSON body must be an object")
        model = check_create(body)
        prompt = str(body.get("prompt") or "")
        if RATE_TRIGGER.lower() in prompt.lower():
            raise OpenRouterEmuError(429, "Rate limit exceeded")
        if CREDITS_TRIGGER.lower() in prompt.lower():
            raise OpenRouterEmuError(402, "Insufficient credits. Add more using https://openrouter.ai/credits")
        duration = body.get("duration") or model.durations[0]
        queue_s, render_s = state.timing(LATENCY_S)
        trigger = state.config.fail_trigger.lower()
        job = EmuJob(
            task_id=f"job-{secrets.token_hex(10)}",
            dialect=DIALECT,
            model=model.id,
            body=body,
            created=state.config.clock(),
            duration=float(duration),
            aspect_ratio=_shape(body, model),
            output=output_video(body, model),
            fail_reason=POLICY_ERROR if trigger and trigger in prompt.lower() else None,
            queue_s=queue_s,
            render_s=render_s,
        )
        state.add(job)
        if body.get("callback_url"):
            schedule_webhook(job, str(body["callback_url"]), str(request.base_url))
        answer = {"id": job.task_id, "polling_url": f"{BASE}/{job.task_id}", "status": "pending"}
        return JSONResponse(answer, status_code=202)

    def schedule_webhook(job: EmuJob, url: str, base_url: str) -> None:
        when_final(state, job, lambda: send_webhook(job, url, base_url), hooks)

    async def send_webhook(job: EmuJob, url: str, base_url: str) -> None:
        data = job_json(state, job, base_url)
        data["model"] = job.model
        envelope = {
            "type": f"video.generation.{data['status']}",
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "data": data,
        }
        raw = json.dumps(envelope).encode()
        headers = {
            "Content-Type": "application/json",
            "X-OpenRouter-Idempotency-Key": f"{job.task_id}-{data['status']}",
            "X-OpenRouter-Signature": sign_webhook(WEBHOOK_SECRET, int(time.time()), raw),
        }
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(url, content=raw, headers=headers)
            job.meta["webhook_status"] = answer.status_code
            state.count("openrouter webhook sent" if answer.status_code < 400 else "openrouter webhook failed")
        except httpx.HTTPError as exc:
            state.count("openrouter webhook failed")
            log.info("OpenRouter webhook for %s not delivered: %s", job.task_id, exc.__class__.__name__)

    async def get(request: Request) -> JSONResponse:
        state.count(f"GET {BASE}/{{id}}")
        auth(request)
        return JSONResponse(job_json(state, find(request), str(request.base_url)))

    async def content(request: Request) -> Response:
        state.count(f"GET {BASE}/{{id}}/content")
        auth(request)
        job = find(request)
        raw_index = request.query_params.get("index") or "0"
        if not raw_index.isdigit():
            raise _bad(f"index must be an integer >= 0, got {raw_index!r}")
        if job_json(state, job, str(request.base_url))["status"] != "completed" or int(raw_index) != 0:
            raise OpenRouterEmuError(404, f"No video content for job {job.task_id} at index {raw_index}")
        return await job_video_response(request, state, job)

    async def models(request: Request) -> JSONResponse:
        state.count(f"GET {BASE}/models")  # the docs example calls it without auth
        return JSONResponse({"data": [m.as_json() for m in MODELS.values()]})

    return [
        Route(f"{BASE}/models", models, methods=["GET"]),
        Route(BASE, create, methods=["POST"]),
        Route(f"{BASE}/{{job_id}}", get, methods=["GET"]),
        Route(f"{BASE}/{{job_id}}/content", content, methods=["GET"]),
    ]


def job_json(state: EmulatorState, job: EmuJob, base_url: str) -> dict[str, Any]:
    phase, _ = state.phase(job)
    body: dict[str, Any] = {"id": job.task_id, "polling_url": f"{BASE}/{job.task_id}", "status": "pending"}
    if phase == "running":
        body["status"] = "in_progress"
    if phase != "done":
        return body
    body["generation_id"] = f"gen-{job.file_id[:12]}"
    if job.fail_reason:
        body["status"] = "failed"
        body["error"] = job.fail_reason
        body["usage"] = {"cost": 0, "is_byok": False}
        return body
    base = base_url.rstrip("/")
    body["status"] = "completed"
    body["unsigned_urls"] = [f"{base}{BASE}/{job.task_id}/content?index=0"]
    body["usage"] = {"cost": round(COST_PER_SECOND * job.duration, 4), "is_byok": False}
    return body
