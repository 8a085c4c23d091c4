"""Replicate's predictions API, emulated from the reference text (providers-2026.md §3), independently of
vidgate's catalog: its own model list and input checks.

Routes: ``POST /v1/models/{owner}/{name}/predictions``, ``POST /v1/predictions`` (``version`` = ``owner/name``
or ``owner/name:<hash>``), ``GET /v1/predictions/{id}``, ``POST /v1/predictions/{id}/cancel`` and
``GET /v1/webhooks/default/secret``. ``Prefer: wait[=N]`` holds the create until the prediction finishes or N
seconds pass; ``Cancel-After: <duration>`` aborts a prediction that has not started by then (canceled if
running). Output files are deleted ``OUTPUT_TTL_S`` after completion (``output: null``, ``data_removed: true``).
Webhooks (``webhook`` + ``webhook_events_filter``) are signed Standard Webhooks style with the account secret.

Errors: ``{"detail", "title", "status"}``. Triggers in the prompt: ``RATE_LIMIT`` -> 429 with Retry-After;
the config's ``fail_trigger`` -> the prediction ends ``failed`` with an ``E####`` error.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.emulator.callbacks import when_final
from vidgate.emulator.dialects._common import EmuHTTPError, is_image_ref
from vidgate.emulator.faults_shapes import register_shape_prefix
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "replicate"
RATE_TRIGGER = "RATE_LIMIT"
OUTPUT_TTL_S = 3600.0  # "inputs, outputs, output files and logs are deleted after 1 hour"
MAX_WAIT_S = 60.0
LATENCY_S = 150.0
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"replicate-emulator-webhook-key!!").decode()
EVENTS = ("start", "output", "logs", "completed")
log = logging.getLogger(__name__)
register_shape_prefix("/v1/models/", "replicate")  # injected faults on the create answer in Replicate's shape


@dataclass(frozen=True)
class EmuModel:
    """One model's input schema as the reference lists it."""

    fields: frozenset[str]
    durations: tuple[int, ...] = ()
    aspects: tuple[str, ...] = ()
    resolutions: tuple[str, ...] = ()
    image_fields: frozenset[str] = frozenset()
    default_duration: int = 5
    default_aspect: str = "16:9"


_VEO_IMAGES = frozenset({"image", "last_frame"})
MODELS: dict[str, EmuModel] = {
    "google/veo-3.1": EmuModel(
        frozenset(
            {
                "prompt",
                "aspect_ratio",
                "duration",
                "negative_prompt",
                "resolution",
                "generate_audio",
                "seed",
                "reference_images",
            }
        )
        | _VEO_IMAGES,
        durations=(4, 6, 8),
        aspects=("16:9", "9:16"),
        resolutions=("720p", "1080p"),
        image_fields=_VEO_IMAGES,
        default_duration=8,
    ),
    "kwaivgi/kling-v2.1-master": EmuModel(
        frozenset({"prompt", "duration", "aspect_ratio", "start_image", "negative_prompt"}),
        durations=(5, 10),
        aspects=("16:9", "9:16", "1:1"),
        image_fields=frozenset({"start_image"}),
    ),
    "kwaivgi/kling-v2.5-turbo-pro": EmuModel(
        frozenset({"prompt", "duration", "aspect_ratio", "start_image", "end_image", "negative_prompt"}),
        durations=(5, 10),
        aspects=("16:9", "9:16", "1:1"),
        image_fields=frozenset({"start_image", "end_image"}),
    ),
    "kwaivgi/kling-v1.6-standard": EmuModel(
        frozenset({"prompt", "duration", "aspect_ratio", "start_image", "negative_prompt"}),
        durations=(5, 10),
        aspects=("16:9", "9:16", "1:1"),
        image_fields=frozenset({"start_image"}),
    ),
    "bytedance/seedance-1-pro": EmuModel(
        frozenset({"prompt", "duration", "aspect_ratio", "resolution", "image", "seed"}),
        durations=(5, 10),
        aspects=("16:9", "9:16", "1:1"),
        resolutions=("480p", "1080p"),
        image_fields=frozenset({"image"}),
    ),
    "minimax/video-01": EmuModel(
        frozenset({"prompt", "first_frame_image", "seed"}),
        image_fields=frozenset({"first_frame_image"}),
        default_duration=6,
    ),
}


def output_video(model: EmuModel, inputs: dict[str, Any]) -> OutputVideo:
    """The model's video: ``aspect_ratio`` at ``resolution`` (default 1080p where the model takes 1080p: Veo 3.1
    'resolution (default 1080p)', providers-2026.md §3; else 720p [choice]), 24 fps [choice], sound when the
    model takes ``generate_audio`` and it is not false (Veo 3.1 makes sound)."""
    default = "1080p" if "1080p" in model.resolutions else "720p"
    size = output_size(
        str(inputs.get("aspect_ratio") or model.default_aspect), str(inputs.get("resolution") or default)
    )
    audio = "generate_audio" in model.fields and inputs.get("generate_audio") is not False
    return OutputVideo(*size, fps=24, audio=audio)


class ReplicateEmuError(EmuHTTPError):
    def __init__(self, status: int, detail: str, title: str = "", retry_after: int | None = None) -> None:
        super().__init__(status, detail, str(status))
        self.title = title or {401: "Unauthenticated", 404: "Not found", 422: "Input validation failed",
                               429: "Request was throttled"}.get(status, "Error")  # fmt: skip
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        body = {"title": self.title, "detail": self.message, "status": self.status}
        return JSONResponse(body, status_code=self.status, headers=headers, media_type="application/problem+json")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(base64decode(secret without whsec_), "{id}.{timestamp}.{body}")>``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def parse_duration(value: str) -> float | None:
    """``Cancel-After``: ``90s``, ``5m``, ``1h`` or ``1h30m``."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value.strip())
    if not parts or "".join(n + u for n, u in parts) != value.strip():
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in parts)


def check_input(model_id: str, model: EmuModel, inputs: Any) -> None:
    if not isinstance(inputs, dict):
        raise ReplicateEmuError(422, "input: must be an object")
    fields = {k: v for k, v in inputs.items() if v is not None}
    unknown = sorted(set(fields) - model.fields)
    if unknown:
        raise ReplicateEmuError(422, f"input: additional properties are not allowed ({', '.join(unknown)})")
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ReplicateEmuError(422, "input: prompt is required")
    if "duration" in fields:
        d = fields["duration"]
        if isinstance(d, bool) or not isinstance(d, int) or d not in model.durations:
            raise ReplicateEmuError(422, f"input.duration: must be one of {list(model.durations)}")
    if "aspect_ratio" in fields and fields["aspect_ratio"] not in model.aspects:
        raise ReplicateEmuError(422, f"input.aspect_ratio: must be one of {list(model.aspects)}")
    if "resolution" in fields and fields["resolution"] not in model.resolutions:
        raise ReplicateEmuError(422, f"input.resolution: must be one of {list(model.resolutions)}")
    for name in model.image_fields & set(fields):
        if not isinstance(fields[name], str) or not is_image_ref(fields[name]):
            raise ReplicateEmuError(422, f"input.{name}: must be an HTTPS URL or a data URI")
    if "reference_images" in fields:
        refs = fields["reference_images"]
        if not isinstance(refs, list) or not 1 <= len(refs) <= 3:
            raise ReplicateEmuError(422, "input.reference_images: 1 to 3 images")
        if fields.get("aspect_ratio", "16:9") != "16:9" or fields.get("duration", 8) != 8:
            raise ReplicateEmuError(422, "input.reference_images: only with aspect_ratio 16:9 and duration 8")
    if "last_frame" in fields and "image" not in fields:
        raise ReplicateEmuError(422, "input.last_frame: needs image")
    if "end_image" in fields and "start_image" not in fields:
        raise ReplicateEmuError(422, "input.end_image: needs start_image")


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def routes(state: EmulatorState) -> list[Route]:
    hooks: set[asyncio.Task[None]] = set()
    secret_fetches = {"n": 0}

    def auth(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        ok = scheme.lower() in ("bearer", "token") and token
        if not ok or not any(hmac.compare_digest(token.encode(), k.encode()) for k in state.config.api_keys):
            raise ReplicateEmuError(401, "You did not pass a valid authentication token")

    def find(request: Request) -> EmuJob:
        job = state.jobs.get(request.path_params["pid"])
        if job is None or job.dialect != DIALECT:
            raise ReplicateEmuError(404, "The requested resource could not be found.")
        return job

    async def create_named(request: Request) -> JSONResponse:
        state.count("POST /v1/models/{owner}/{name}/predictions")
        auth(request)
        model_id = f"{request.path_params['owner']}/{request.path_params['name']}"
        return await _create(request, model_id, None)

    async def create_versioned(request: Request) -> JSONResponse:
        state.count("POST /v1/predictions")
        auth(request)
        body = await _body(request)
        version = body.get("version")
        if not isinstance(version, str) or not version:
            raise ReplicateEmuError(422, "version: is required")
        model_id, _, hash_ = version.partition(":")
        if "/" not in model_id:  # a bare version hash: the emulator knows none
            raise ReplicateEmuError(404, f"version {version} not found")
        return await _create(request, model_id, hash_ or None, body)

    async def _body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ReplicateEmuError(400, "Invalid JSON body") from None
        if not isinstance(body, dict):
            raise ReplicateEmuError(400, "the JSON body must be an object")
        return body

    async def _create(
        request: Request, model_id: str, version: str | None, body: dict[str, Any] | None = None
    ) -> JSONResponse:
        body = body if body is not None else await _body(request)
        model = MODELS.get(model_id)
        if model is None:
            raise ReplicateEmuError(404, f"Model {model_id} not found")
        inputs = body.get("input")
        check_input(model_id, model, inputs)
        assert isinstance(inputs, dict)
        events = body.get("webhook_events_filter")
        if events is not None and (not isinstance(events, list) or any(e not in EVENTS for e in events)):
            raise ReplicateEmuError(422, f"webhook_events_filter: items must be one of {list(EVENTS)}")
        webhook = body.get("webhook")
        if webhook is not None and (not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))):
            raise ReplicateEmuError(422, "webhook: must be a URL")
        prompt = str(inputs.get("prompt") or "")
        if RATE_TRIGGER.lower() in prompt.lower():
            raise ReplicateEmuError(429, "Request was throttled. Your rate limit resets in ~1s.", retry_after=1)
        cancel_after = None
        if request.headers.get("cancel-after"):
            cancel_after = parse_duration(request.headers["cancel-after"])
            if cancel_after is None:
                raise ReplicateEmuError(400, f"Cancel-After: invalid duration {request.headers['cancel-after']!r}")
        queue_s, render_s = state.timing(LATENCY_S)
        trigger = state.config.fail_trigger.lower()
        duration = inputs.get("duration") or model.default_duration
        job = EmuJob(
            task_id=secrets.token_hex(13)[:26],
            dialect=DIALECT,
            model=model_id,
            body=body,
            created=state.config.clock(),
            duration=float(duration),
            aspect_ratio=str(inputs.get("aspect_ratio") or model.default_aspect),
            output=output_video(model, inputs),
            fail_reason="E1000: content flagged by the safety filter"
            if trigger and trigger in prompt.lower()
            else None,
            queue_s=queue_s,
            render_s=render_s,
        )
        job.meta.update(version=version or secrets.token_hex(32), cancel_after=cancel_after, prefer=None)
        state.add(job)
        base_url = str(request.base_url)
        if webhook:
            schedule_webhooks(job, webhook, list(events or EVENTS), base_url)
        wait = _prefer_wait(request.headers.get("prefer", ""))
        if wait:
            limit = time.monotonic() + wait
            while time.monotonic() < limit and prediction(state, job, base_url)["status"] in ("starting", "processing"):
                await asyncio.sleep(0.02)
        return JSONResponse(prediction(state, job, base_url), status_code=201)

    def schedule_webhooks(job: EmuJob, url: str, events: list[str], base_url: str) -> None:
        loop = asyncio.get_running_loop()
        if "start" in events:
            _spawn(loop, send_webhook(job, url, base_url))
        if "completed" in events:
            when_final(state, job, lambda: send_webhook(job, url, base_url), hooks)

    def _spawn(loop: asyncio.AbstractEventLoop, coro: Any) -> None:
        task = loop.create_task(coro)
        hooks.add(task)
        task.add_done_callback(hooks.discard)

    async def send_webhook(job: EmuJob, url: str, base_url: str) -> None:
        raw = json.dumps(prediction(state, job, base_url)).encode()
        msg_id = f"msg_{secrets.token_hex(12)}"
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign(WEBHOOK_SECRET, msg_id, ts, raw),
        }
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(url, content=raw, headers=headers)
            state.count("replicate webhook sent" if answer.status_code < 400 else "replicate webhook failed")
        except httpx.HTTPError as exc:
            state.count("replicate webhook failed")
            log.info("Replicate webhook for %s not delivered: %s", job.task_id, exc.__class__.__name__)

    async def get(request: Request) -> JSONResponse:
        state.count("GET /v1/predictions/{id}")
        auth(request)
        return JSONResponse(prediction(state, find(request), str(request.base_url)))

    async def cancel(request: Request) -> JSONResponse:
        state.count("POST /v1/predictions/{id}/cancel")
        auth(request)
        job = find(request)
        if prediction(state, job, str(request.base_url))["status"] in ("starting", "processing"):
            job.meta["canceled_at"] = state.config.clock()
        return JSONResponse(prediction(state, job, str(request.base_url)))

    async def secret(request: Request) -> JSONResponse:
        state.count("GET /v1/webhooks/default/secret")
        auth(request)
        secret_fetches["n"] += 1
        return JSONResponse({"key": WEBHOOK_SECRET})

    return [
        Route("/v1/models/{owner}/{name}/predictions", create_named, methods=["POST"]),
        Route("/v1/predictions", create_versioned, methods=["POST"]),
        Route("/v1/predictions/{pid}", get, methods=["GET"]),
        Route("/v1/predictions/{pid}/cancel", cancel, methods=["POST"]),
        Route("/v1/webhooks/default/secret", secret, methods=["GET"]),
    ]


def _prefer_wait(value: str) -> float:
    """Seconds to hold the create: ``Prefer: wait`` = 60, ``wait=N`` = N (1-60); absent = 0."""
    m = re.search(r"\bwait(?:=(\d+))?\b", value)
    if not m:
        return 0.0
    return min(MAX_WAIT_S, max(1.0, float(m.group(1)))) if m.group(1) else MAX_WAIT_S


def prediction(state: EmulatorState, job: EmuJob, base_url: str) -> dict[str, Any]:
    """The prediction object now (Cancel-After and cancel applied, outputs deleted after an hour)."""
    now = state.config.clock()
    phase, fraction = state.phase(job)
    started = job.created + job.queue_s
    done = state.done_at(job)
    base = base_url.rstrip("/")
    body: dict[str, Any] = {
        "id": job.task_id,
        "model": job.model,
        "version": job.meta.get("version"),
        "input": job.body.get("input"),
        "logs": "",
        "output": None,
        "error": None,
        "data_removed": False,
        "status": "starting",
        "created_at": _iso(job.created),
        "started_at": None,
        "completed_at": None,
        "source": "api",
        "metrics": {},
        "urls": {
            "get": f"{base}/v1/predictions/{job.task_id}",
            "cancel": f"{base}/v1/predictions/{job.task_id}/cancel",
            "web": f"https://replicate.com/p/{job.task_id}",
        },
    }
    cancel_after = job.meta.get("cancel_after")
    canceled_at = job.meta.get("canceled_at")
    stop = min(t for t in (canceled_at, job.created + cancel_after if cancel_after else None, float("inf")) if t)
    if stop < done and now >= stop:
        body["status"] = "aborted" if stop < started and canceled_at is None else "canceled"
        body["started_at"] = _iso(started) if stop >= started else None
        body["completed_at"] = _iso(stop)
        return body
    if phase == "queued":
        return body
    body["started_at"] = _iso(started)
    if phase == "running":
        body["status"] = "processing"
        body["logs"] = f"{int(fraction * 100)}%"
        return body
    body["completed_at"] = _iso(done)
    body["metrics"] = {"predict_time": round(job.render_s, 3), "total_time": round(done - job.created, 3)}
    if job.fail_reason:
        body["status"] = "failed"
        body["error"] = job.fail_reason
        return body
    body["status"] = "succeeded"
    if now - done >= OUTPUT_TTL_S:
        body["data_removed"] = True
        body["input"] = None
        return body
    body["output"] = f"{base}/cdn/{job.file_token}.mp4"
    return body
