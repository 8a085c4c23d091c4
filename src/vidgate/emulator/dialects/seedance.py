"""ByteDance Seedance content-generation tasks (Volcengine Ark / BytePlus ModelArk), emulated from the reference
text (providers-2026.md §5, more-providers.md §5), independently of vidgate's catalog: its own model table.

Routes: ``POST /api/v3/contents/generations/tasks`` -> ``{"id": "cgt-..."}``, ``GET .../tasks/{id}``,
``GET .../tasks`` (list), ``DELETE .../tasks/{id}`` (queued -> cancelled; a finished task's record is deleted;
a running or cancelled one is refused) and ``GET /ark-tos/{token}/last_frame.png`` (``return_last_frame``).
Statuses ``queued``, ``running``, ``succeeded``, ``failed``, ``cancelled``, ``expired`` (a task still unfinished
``execution_expires_after`` seconds after its creation). ``content.video_url`` is cleared 24 h after the end.
``callback_url`` gets the task object, unsigned, when the task is created, starts running and ends.

Errors: ``{"error": {"code", "message", "param", "type"}}``. Triggers in the prompt: ``RATE_LIMIT`` -> 429;
``BLOCK_POLICY`` -> 400 ``InputTextSensitiveContentDetected``; the config's ``fail_trigger`` -> the task ends
``failed`` with ``OutputVideoSensitiveContentDetected``.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.callbacks import when_final
from vidgate.emulator.dialects._common import EmuHTTPError, is_image_ref
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "seedance"
BASE = "/api/v3/contents/generations/tasks"
RATE_TRIGGER = "RATE_LIMIT"
BLOCK_TRIGGER = "BLOCK_POLICY"
URL_TTL_S = 24 * 3600.0  # "content.video_url and last_frame_url are cleared after 24 hours" (S1)
DEFAULT_EXPIRES_AFTER = 172800  # execution_expires_after default; range [3600, 259200] (S1)
FPS = 24
RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
ROLES = ("first_frame", "last_frame", "reference_image")
TOP_LEVEL = frozenset(
    {"model", "content", "resolution", "ratio", "duration", "seed", "watermark", "camera_fixed", "generate_audio",
     "return_last_frame", "draft", "service_tier", "callback_url", "execution_expires_after", "output_format",
     "omni_reference_task_type", "frames", "safety_identifier"}
)  # fmt: skip
# Legacy text commands (--rs 720p --dur 5 ...): "do not mix the two" with top-level fields (providers-2026 §5).
TEXT_COMMAND = re.compile(r"(^|\s)--(rs|rt|dur|fps|wm|seed|cf|resolution|ratio|duration|framepersecond|"
                          r"watermark|camerafixed)\b")  # fmt: skip
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeedanceModel:
    """One model's limits as the reference writes them."""

    durations: tuple[int, int]
    resolutions: tuple[str, ...]
    default_resolution: str
    first_frame: bool = True  # takes a first frame image (text-only models do not)
    last_frame: bool = True  # first + last frame images
    refs_1080p: bool = True  # 1080p allowed with reference images (not on 1.0 Lite, S1)
    references: int = 0  # reference_image items (0: not a reference model)
    videos: int = 0
    audios: int = 0
    audio: bool = False  # generate_audio accepted
    latency_s: float = 120.0


# 2.x: ComfyUI constants (<= 9 images, 3 videos, 3 audios; 2.5: 30/10/10, up to 30 s); Fast and Mini 480p/720p.
_V2_SMALL = SeedanceModel((4, 15), ("480p", "720p"), "720p", references=9, videos=3, audios=3, audio=True,
                          latency_s=90)  # fmt: skip
_V2_FULL = SeedanceModel((4, 15), ("480p", "720p", "1080p"), "720p", references=9, videos=3, audios=3, audio=True,
                         latency_s=180)  # fmt: skip
_V25 = SeedanceModel((4, 30), ("480p", "720p"), "720p", references=30, videos=10, audios=10, audio=True,
                     latency_s=240)  # fmt: skip
# 1.x: S1 (2-12 s; 1.5 Pro 2-12 per providers-2026 §5), first+last on 1.5 Pro and 1.0 Pro, not on Pro Fast.
_V15 = SeedanceModel((2, 12), ("480p", "720p", "1080p"), "720p", audio=True)
_V10 = SeedanceModel((2, 12), ("480p", "720p", "1080p"), "1080p")
_V10_FAST = SeedanceModel((2, 12), ("480p", "720p", "1080p"), "1080p", last_frame=False, latency_s=60)
# 1.0 Lite: t2v is text only; i2v takes a first frame, first + last, or 1-4 reference images (not at 1080p) (S1)
_LITE_T2V = SeedanceModel((2, 12), ("480p", "720p", "1080p"), "720p", first_frame=False, last_frame=False, latency_s=60)
_LITE_I2V = SeedanceModel((2, 12), ("480p", "720p", "1080p"), "720p", references=4, refs_1080p=False, latency_s=60)
MODELS: dict[str, SeedanceModel] = {
    # Volcengine Ark (China)
    "doubao-seedance-2-0-260128": _V2_FULL,
    "doubao-seedance-2-0-fast-260128": _V2_SMALL,
    "doubao-seedance-2-0-mini-260615": _V2_SMALL,
    "doubao-seedance-1-5-pro-251215": _V15,
    "doubao-seedance-1-0-pro-250528": _V10,
    "doubao-seedance-1-0-pro-fast-251015": _V10_FAST,
    "doubao-seedance-1-0-lite-t2v-250428": _LITE_T2V,
    "doubao-seedance-1-0-lite-i2v-250428": _LITE_I2V,
    # BytePlus ModelArk (international)
    "dreamina-seedance-2-0-260128": _V2_FULL,
    "dreamina-seedance-2-0-fast-260128": _V2_SMALL,
    "dreamina-seedance-2-0-mini": _V2_SMALL,
    "dreamina-seedance-2-5-260628": _V25,
    "seedance-1-5-pro-251215": _V15,
    "seedance-1-0-pro-250528": _V10,
}


class SeedanceEmuError(EmuHTTPError):
    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(status, message, code, param)

    def response(self) -> JSONResponse:
        kind = "InvalidRequestError" if self.status < 500 else "ServerError"
        body = {"error": {"code": self.code, "message": self.message, "param": self.param, "type": kind}}
        return JSONResponse(body, status_code=self.status)


def _bad(param: str, message: str) -> SeedanceEmuError:
    return SeedanceEmuError(400, "InvalidParameter", f"the parameter `{param}` {message}", param)


def _media_url(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(("https://", "http://", "asset://")))


def check_content(model: SeedanceModel, content: Any) -> dict[str, Any]:
    """The content[] items counted by kind; raises the provider's 400 on anything the reference forbids."""
    if not isinstance(content, list) or not content:
        raise _bad("content", "must be a non-empty array")
    texts: list[str] = []
    roles: list[str] = []
    videos = audios = 0
    for i, item in enumerate(content):
        kind = item.get("type") if isinstance(item, dict) else None
        where = f"content[{i}]"
        if kind == "text":
            if not isinstance(item.get("text"), str):
                raise _bad(f"{where}.text", "must be a string")
            texts.append(item["text"])
        elif kind == "image_url":
            url = (item.get("image_url") or {}).get("url") if isinstance(item.get("image_url"), dict) else None
            if not isinstance(url, str) or not (is_image_ref(url) or url.startswith("asset://")):
                raise _bad(f"{where}.image_url.url", "must be an image URL, a data:image/...;base64 URI or asset://")
            if url.startswith("data:") and not url.startswith("data:image/"):
                raise _bad(f"{where}.image_url.url", "must be a data:image/<format>;base64,... URI")
            role = item.get("role", "first_frame")
            if role not in ROLES:
                raise _bad(f"{where}.role", f"must be one of {list(ROLES)}")
            roles.append(role)
        elif kind in ("video_url", "audio_url"):
            url = (item.get(kind) or {}).get("url") if isinstance(item.get(kind), dict) else None
            want = "reference_video" if kind == "video_url" else "reference_audio"
            if not _media_url(url):
                raise _bad(f"{where}.{kind}.url", "must be an http(s) URL or an asset:// id")
            if item.get("role", want) != want:
                raise _bad(f"{where}.role", f"must be {want}")
            videos += kind == "video_url"
            audios += kind == "audio_url"
        elif kind == "draft_task":
            continue
        else:
            raise _bad(f"{where}.type", "must be text, image_url, video_url, audio_url or draft_task")
    if len(texts) > 1:
        raise _bad("content", "may hold one text item")
    refs = roles.count("reference_image")
    frames = len(roles) - refs
    if roles.count("first_frame") > 1 or roles.count("last_frame") > 1:
        raise _bad("content", "holds at most one first_frame and one last_frame image")
    if "last_frame" in roles and ("first_frame" not in roles or not model.last_frame):
        raise _bad("content", "last_frame needs a first_frame, on a model that takes first and last frames")
    if frames and not model.first_frame:
        raise _bad("content", "this model takes no frame images (text-to-video)")
    if refs and frames:
        raise _bad("content", "mixes first/last frames with reference images (separate modes)")
    if refs > model.references:
        raise _bad("content", f"holds {refs} reference images; this model takes at most {model.references}")
    if videos > model.videos or audios > model.audios:
        raise _bad("content", f"takes at most {model.videos} reference videos and {model.audios} reference audios")
    if (videos or audios) and frames:
        raise _bad("content", "reference videos and audios belong to the reference mode, not to first/last frames")
    if not texts and not roles and not videos:
        raise _bad("content", "needs a text prompt or a reference")
    return {"text": texts[0] if texts else "", "roles": roles, "refs": refs}


def output_video(model: SeedanceModel, body: dict[str, Any], ratio: str) -> OutputVideo:
    """The task's video: ``ratio`` at ``resolution`` (the model's default when not asked; ``adaptive`` rendered
    16:9 [choice]), 24 fps (``framespersecond`` 24, S1), sound when the model makes audio and
    ``generate_audio`` is not false (default true, S1)."""
    size = output_size(None if ratio == "adaptive" else ratio, str(body.get("resolution") or model.default_resolution))
    return OutputVideo(*size, fps=FPS, audio=model.audio and body.get("generate_audio") is not False)


def check_fields(model: SeedanceModel, body: dict[str, Any], refs: int) -> None:
    unknown = sorted(set(body) - TOP_LEVEL)
    if unknown:
        raise _bad(unknown[0], "is not a known field")
    if "resolution" in body and body["resolution"] not in model.resolutions:
        raise _bad("resolution", f"must be one of {list(model.resolutions)} for {body['model']}")
    if "ratio" in body and body["ratio"] not in RATIOS:
        raise _bad("ratio", f"must be one of {list(RATIOS)}")
    if "duration" in body:
        d = body["duration"]
        low, high = model.durations
        if isinstance(d, bool) or not isinstance(d, int) or not low <= d <= high:
            raise _bad("duration", f"must be an integer from {low} to {high} for {body['model']}")
    if "seed" in body and (isinstance(body["seed"], bool) or not isinstance(body["seed"], int)
                           or not -1 <= body["seed"] <= 2**32 - 1):  # fmt: skip
        raise _bad("seed", "must be an integer from -1 to 4294967295")
    for flag in ("watermark", "camera_fixed", "generate_audio", "return_last_frame", "draft"):
        if flag in body and not isinstance(body[flag], bool):
            raise _bad(flag, "must be a boolean")
    if "generate_audio" in body and not model.audio:
        raise _bad("generate_audio", f"is not supported by {body['model']}")
    if body.get("resolution") == "1080p" and refs and not model.refs_1080p:
        raise _bad("resolution", f"1080p is not supported with reference images on {body['model']}")
    if body.get("camera_fixed") and refs:
        raise _bad("camera_fixed", "is not supported with reference images")
    if "service_tier" in body and body["service_tier"] not in ("default", "flex"):
        raise _bad("service_tier", "must be default or flex")
    if "execution_expires_after" in body:
        e = body["execution_expires_after"]
        if isinstance(e, bool) or not isinstance(e, int) or not 3600 <= e <= 259200:
            raise _bad("execution_expires_after", "must be an integer from 3600 to 259200")
    if "callback_url" in body:
        url = body["callback_url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _bad("callback_url", "must be an http(s) URL")


def routes(state: EmulatorState) -> list[Route]:
    hooks: set[asyncio.Task[None]] = set()

    def wall(t: float) -> int:
        """A moment on the emulator's clock as unix seconds (Seedance timestamps are seconds)."""
        return int(time.time() + (t - state.config.clock()))

    def auth(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not any(hmac.compare_digest(token.encode(), k.encode())
                                                 for k in state.config.api_keys):  # fmt: skip
            raise SeedanceEmuError(401, "AuthenticationError", "the API key is missing or invalid")

    def find(request: Request) -> EmuJob:
        job = state.jobs.get(request.path_params["task_id"])
        if job is None or job.dialect != DIALECT or job.meta.get("deleted"):
            raise SeedanceEmuError(404, "ResourceNotFound", "the specified task does not exist")
        return job

    async def create(request: Request) -> JSONResponse:
        state.count(f"POST {BASE}")
        auth(request)
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _bad("body", "is not valid JSON") from None
        if not isinstance(body, dict):
            raise _bad("body", "must be a JSON object")
        model_id = body.get("model")
        model = MODELS.get(model_id) if isinstance(model_id, str) else None
        if model is None:
            raise SeedanceEmuError(404, "InvalidEndpointOrModel.NotFound", f"the model {model_id!r} does not exist")
        seen = check_content(model, body.get("content"))
        check_fields(model, body, seen["refs"])
        prompt: str = seen["text"]
        if TEXT_COMMAND.search(prompt) and set(body) & {"resolution", "ratio", "duration", "seed", "watermark"}:
            raise _bad("content", "mixes --text commands in the prompt with top-level parameters")
        if RATE_TRIGGER.lower() in prompt.lower():
            raise SeedanceEmuError(429, "RateLimitExceeded.EndpointRPMExceeded", "request rate limit exceeded")
        if BLOCK_TRIGGER.lower() in prompt.lower():
            raise SeedanceEmuError(400, "InputTextSensitiveContentDetected",
                                   "the input text may contain sensitive information")  # fmt: skip
        queue_s, render_s = state.timing(model.latency_s)
        trigger = state.config.fail_trigger.lower()
        ratio = body.get("ratio") or ("adaptive" if "first_frame" in seen["roles"] else "16:9")
        job = EmuJob(
            task_id=f"cgt-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)[:5]}",
            dialect=DIALECT,
            model=model_id,  # type: ignore[arg-type]
            body=body,
            created=state.config.clock(),
            duration=float(body.get("duration") or 5),
            aspect_ratio=None if ratio == "adaptive" else ratio,
            output=output_video(model, body, ratio),
            fail_reason="OutputVideoSensitiveContentDetected" if trigger and trigger in prompt.lower() else None,
            queue_s=queue_s,
            render_s=render_s,
        )
        job.meta.update(resolution=body.get("resolution") or model.default_resolution, ratio=ratio)
        state.add(job)
        if "callback_url" in body:  # on each status change: queued now, running, then the final status (S1)
            base_url = str(request.base_url)
            _spawn(notify(job, body["callback_url"], base_url))
            asyncio.get_running_loop().call_later(
                job.queue_s, lambda: _spawn(notify(job, body["callback_url"], base_url))
            )
            when_final(state, job, lambda: notify(job, body["callback_url"], base_url), hooks)
        return JSONResponse({"id": job.task_id})

    def _spawn(coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        hooks.add(task)
        task.add_done_callback(hooks.discard)

    async def notify(job: EmuJob, url: str, base_url: str) -> None:
        raw = json.dumps(task_json(job, base_url)).encode()
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(url, content=raw, headers={"Content-Type": "application/json"})
            state.count("seedance callback sent" if answer.status_code < 400 else "seedance callback failed")
        except httpx.HTTPError as exc:
            state.count("seedance callback failed")
            log.info("Seedance callback for %s not delivered: %s", job.task_id, exc.__class__.__name__)

    def status_of(job: EmuJob) -> str:
        now = state.config.clock()
        expires = job.created + float(job.body.get("execution_expires_after") or DEFAULT_EXPIRES_AFTER)
        cancelled = job.meta.get("cancelled_at")
        if cancelled is not None:
            return "cancelled"
        phase, _ = state.phase(job)
        if phase != "done" and now >= expires:
            return "expired"
        if phase == "queued":
            return "queued"
        if phase == "running":
            return "running"
        return "failed" if job.fail_reason else "succeeded"

    def task_json(job: EmuJob, base_url: str) -> dict[str, Any]:
        status = status_of(job)
        body = job.body
        model = MODELS[job.model]
        out: dict[str, Any] = {
            "id": job.task_id,
            "model": job.model,
            "status": status,
            "error": None,
            "created_at": wall(job.created),
            "updated_at": wall(state.config.clock()),
            "seed": body.get("seed", 58944),
            "resolution": job.meta["resolution"],
            "ratio": job.meta["ratio"],
            "duration": int(job.duration),
            "framespersecond": FPS,
            "service_tier": body.get("service_tier", "default"),
            "execution_expires_after": body.get("execution_expires_after", DEFAULT_EXPIRES_AFTER),
        }
        if model.audio:
            out["generate_audio"] = body.get("generate_audio", True)
        done = state.done_at(job)
        if status in ("succeeded", "failed"):
            out["updated_at"] = wall(done)
        if status == "failed":
            out["error"] = {"code": job.fail_reason, "message": "The generated video may contain sensitive content."}
        if status == "succeeded":
            out["content"] = {}
            if state.config.clock() - done < URL_TTL_S:
                base = base_url.rstrip("/")
                out["content"]["video_url"] = f"{base}/cdn/{job.file_token}.mp4"
                if body.get("return_last_frame"):
                    out["content"]["last_frame_url"] = f"{base}/ark-tos/{job.file_token}/last_frame.png"
            w, h = 1280, 720
            tokens = int(job.duration * w * h * FPS / 1024)
            out["usage"] = {"completion_tokens": tokens, "total_tokens": tokens}
        return out

    async def get(request: Request) -> JSONResponse:
        state.count(f"GET {BASE}/{{id}}")
        auth(request)
        return JSONResponse(task_json(find(request), str(request.base_url)))

    async def listing(request: Request) -> JSONResponse:
        state.count(f"GET {BASE}")
        auth(request)
        q = request.query_params
        page_num, page_size = int(q.get("page_num") or 1), int(q.get("page_size") or 10)
        ids = set(q.getlist("filter.task_ids"))
        items = [task_json(j, str(request.base_url)) for j in state.jobs.values()
                 if j.dialect == DIALECT and not j.meta.get("deleted")]  # fmt: skip
        items = [t for t in items if (not ids or t["id"] in ids)
                 and (not q.get("filter.status") or t["status"] == q["filter.status"])
                 and (not q.get("filter.model") or t["model"] == q["filter.model"])]  # fmt: skip
        start = (max(1, page_num) - 1) * page_size
        return JSONResponse({"items": items[start : start + page_size], "total": len(items)})

    async def delete(request: Request) -> Response:
        state.count(f"DELETE {BASE}/{{id}}")
        auth(request)
        job = find(request)
        status = status_of(job)
        if status == "queued":
            job.meta["cancelled_at"] = state.config.clock()
        elif status in ("succeeded", "failed", "expired"):
            job.meta["deleted"] = True  # the record is gone: no longer queryable
        else:
            raise SeedanceEmuError(400, "InvalidParameter", f"a {status} task cannot be cancelled or deleted")
        return Response(status_code=200)

    async def last_frame(request: Request) -> Response:
        job = state.files.get(request.path_params["file_id"])
        if job is None or job.dialect != DIALECT:
            return Response("not found", status_code=404)
        buf = io.BytesIO()
        Image.new("RGB", (64, 36), (200, 90, 40)).save(buf, format="PNG")
        return Response(buf.getvalue(), media_type="image/png")

    return [
        Route(BASE, create, methods=["POST"]),
        Route(BASE, listing, methods=["GET"]),
        Route(BASE + "/{task_id}", get, methods=["GET"]),
        Route(BASE + "/{task_id}", delete, methods=["DELETE"]),
        Route("/ark-tos/{file_id}/last_frame.png", last_frame, methods=["GET"]),
    ]
