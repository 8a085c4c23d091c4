"""Zhipu's video API, emulated on both prefixes: ``/api/paas/v4`` (BigModel and Z.ai) and the relay's
``/cogvideox/v4`` pass-through. ``POST {prefix}/videos/generations``, ``GET {prefix}/async-result/{id}``.

The per-model schema below is written from the docs (core-providers.md §3), independently of the catalog
and ``vidgate.catalog.validate``, so the two can disagree and a test notices. Errors use Zhipu's business
codes in the BigModel body ``{"error": {"code": "1214", "message"}}`` or, with
``EmulatorConfig.zhipu_error_shape = "zai"``, the Z.ai body ``{"code": 1214, "message"}``.

Triggers in the prompt: ``BLOCK_POLICY`` -> HTTP 400 code 1301 at submit; ``RATE_LIMIT`` -> HTTP 429 code
1302; the config's ``fail_trigger`` (``FAIL_POLICY``) -> the task ends ``FAIL``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import secrets
import time
from dataclasses import dataclass
from typing import Any

from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.dialects._common import EmuHTTPError, json_object
from vidgate.emulator.facts import VIDU_FPS, ZHIPU_FPS, ZHIPU_LATENCY_S
from vidgate.emulator.files import job_shape
from vidgate.emulator.render import OutputVideo, output_size, render_thumbnail
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "zhipu"
PREFIXES = ("/api/paas/v4", "/cogvideox/v4")
BLOCK_TRIGGER = "BLOCK_POLICY"
RATE_TRIGGER = "RATE_LIMIT"
MAX_PROMPT = 512
MB = 1024 * 1024
POLICY_MESSAGE = "系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语，感谢您的配合。"
COMMON_FIELDS = frozenset(
    {"model", "prompt", "image_url", "request_id", "user_id", "watermark_enabled", "with_audio",
     "sensitive_word_check", "off_peak"}
)  # fmt: skip
COGVIDEOX_SIZES = ("1280x720", "720x1280", "1024x1024", "1920x1080", "1080x1920", "2048x1080", "3840x2160")
COGVIDEOX2_SIZES = ("720x480", "1024x1024", "1280x960", "960x1280", "1920x1080", "1080x1920", "2048x1080", "3840x2160")
ASPECTS = ("16:9", "9:16", "1:1")
MOVEMENT = ("auto", "small", "medium", "large")


@dataclass(frozen=True)
class EmuModel:
    """One model's documented request schema."""

    images: str  # none | single | single_or_pair | list_1_2 | list_1_3
    durations: tuple[int, ...] | None  # None: the model has no duration field
    sizes: tuple[str, ...]
    fields: frozenset[str]  # beyond COMMON_FIELDS
    vidu: bool
    aspect_ratios: tuple[str, ...] = ()
    prompt_required: bool = False

    @property
    def max_bytes(self) -> int:
        return 50 * MB if self.vidu else 5 * MB

    @property
    def formats(self) -> tuple[str, ...]:
        return ("png", "jpeg", "webp") if self.vidu else ("png", "jpeg")


_COG = frozenset({"quality", "fps", "size"})
_VIDU = frozenset({"movement_amplitude", "size", "duration"})
MODELS: dict[str, EmuModel] = {
    "cogvideox-3": EmuModel("single_or_pair", (5, 10), COGVIDEOX_SIZES, _COG | {"duration"}, vidu=False),
    "cogvideox-2": EmuModel("single", None, COGVIDEOX2_SIZES, _COG, vidu=False),
    "cogvideox-flash": EmuModel("single", None, COGVIDEOX2_SIZES, _COG, vidu=False),
    "viduq1-text": EmuModel(
        "none", (5,), ("1920x1080",), _VIDU | {"style", "aspect_ratio"}, True, ASPECTS, prompt_required=True
    ),
    "viduq1-image": EmuModel("single", (5,), ("1920x1080",), _VIDU, vidu=True),
    "vidu2-image": EmuModel("single", (4,), ("1280x720",), _VIDU, vidu=True),
    "viduq1-start-end": EmuModel("list_1_2", (5,), ("1920x1080",), _VIDU, vidu=True),
    "vidu2-start-end": EmuModel("list_1_2", (4,), ("1280x720", "480x360"), _VIDU, vidu=True),
    "vidu2-reference": EmuModel("list_1_3", (4,), ("1280x720",), _VIDU | {"aspect_ratio"}, True, ASPECTS),
}


class ZhipuEmuError(EmuHTTPError):
    """An error in one of Zhipu's two documented bodies, with a business code."""

    def __init__(self, status: int, business: int, message: str, shape: str = "bigmodel") -> None:
        super().__init__(status, message, str(business))
        self.business = business
        self.shape = shape

    def response(self) -> JSONResponse:
        if self.shape == "zai":
            return JSONResponse({"code": self.business, "message": self.message}, status_code=self.status)
        return JSONResponse({"error": {"code": str(self.business), "message": self.message}}, status_code=self.status)


class _Errors:
    def __init__(self, shape: str) -> None:
        self.shape = shape

    def __call__(self, status: int, business: int, message: str) -> ZhipuEmuError:
        return ZhipuEmuError(status, business, message, self.shape)


def _auth(request: Request, state: EmulatorState, err: _Errors) -> None:
    header = request.headers.get("authorization")
    if not header:
        raise err(401, 1001, "Header中未收到Authorization参数，无法进行身份验证。")
    scheme, _, token = header.partition(" ")
    keys = state.config.api_keys
    if scheme.lower() != "bearer" or not any(hmac.compare_digest(token.encode(), k.encode()) for k in keys):
        raise err(401, 1002, "Authorization Token非法，请确认Authorization Token正确传递。")


def _sniff(data: bytes) -> tuple[str | None, tuple[int, int] | None]:
    fmt = None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        fmt = "png"
    elif data.startswith(b"\xff\xd8\xff"):
        fmt = "jpeg"
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        fmt = "webp"
    try:
        with Image.open(io.BytesIO(data)) as im:
            return fmt, im.size
    except Exception:
        return fmt, None


def _check_image(value: Any, where: str, spec: EmuModel, err: _Errors) -> tuple[int, int] | None:
    """Dimensions of an inline image after checking it; None for a URL."""
    if not isinstance(value, str) or not value:
        raise err(400, 1214, f"{where} 必须是图片URL或Base64字符串")
    if value.startswith(("http://", "https://")):
        return None  # the real service fetches it; the emulator cannot reach the internet
    payload = value
    if value.startswith("data:"):
        head, sep, payload = value.partition(",")
        if not sep or ";base64" not in head or not head[5:].startswith("image/"):
            raise err(400, 1214, f"{where}: data URL 格式错误, 应为 data:image/<type>;base64,<data>")
    elif spec.vidu:
        raise err(400, 1214, f"{where}: Vidu 的 base64 图片必须带 content type, 如 data:image/png;base64,...")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise err(400, 1214, f"{where} 既不是URL也不是合法的Base64") from None
    if len(data) > spec.max_bytes:
        raise err(400, 1214, f"{where}: 图片大小 {len(data)} 字节超过 {spec.max_bytes // MB}MB 限制")
    fmt, dims = _sniff(data)
    if fmt not in spec.formats or dims is None:
        raise err(400, 1214, f"{where}: 图片格式仅支持 {'/'.join(spec.formats)}")
    w, h = dims
    if spec.vidu and not 0.25 <= w / h <= 4:
        raise err(400, 1214, f"{where}: 图片比例需在 1:4 到 4:1 之间, 实际 {w}x{h}")
    if spec.images == "list_1_3" and min(w, h) < 128:
        raise err(400, 1214, f"{where}: 参考图需至少 128x128, 实际 {w}x{h}")
    return w, h


def check_create(body: dict[str, Any], err: _Errors) -> tuple[str, EmuModel]:
    fields = {k: v for k, v in body.items() if v is not None}  # the official SDK sends unset fields as null
    model = fields.get("model")
    if not isinstance(model, str) or not model:
        raise err(400, 1213, "未正常接收到model参数")
    spec = MODELS.get(model)
    if spec is None:
        raise err(400, 1211, f"模型不存在，请检查模型代码: {model}")
    unknown = sorted(set(fields) - COMMON_FIELDS - spec.fields)
    if unknown:
        raise err(400, 1214, f"{model} 不支持参数 {unknown}")
    prompt = fields.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise err(400, 1214, "prompt 必须是字符串")
    if prompt is not None and len(prompt) > MAX_PROMPT:
        raise err(400, 1261, f"Prompt 超长: {len(prompt)} 个字符, 最多 {MAX_PROMPT}")
    image = fields.get("image_url")
    if not (prompt or "").strip() and image is None:
        raise err(400, 1213, "prompt 和 image_url 不能同时为空")
    if spec.prompt_required and not (prompt or "").strip():
        raise err(400, 1213, f"{model} 需要 prompt")
    for name in ("with_audio", "watermark_enabled", "off_peak"):
        if name in fields and not isinstance(fields[name], bool):
            raise err(400, 1214, f"{name} 必须是布尔值")
    for name in ("request_id", "user_id"):
        if name in fields and not isinstance(fields[name], str):
            raise err(400, 1214, f"{name} 必须是字符串")
    if "user_id" in fields and not 6 <= len(fields["user_id"]) <= 128:
        raise err(400, 1214, "user_id 长度需在 6 到 128 之间")
    _check_enums(model, spec, fields, err)
    _check_images(model, spec, fields, err)
    return model, spec


def _check_enums(model: str, spec: EmuModel, fields: dict[str, Any], err: _Errors) -> None:
    if "duration" in fields:
        d = fields["duration"]
        if not isinstance(d, int) or isinstance(d, bool):
            raise err(400, 1214, f"duration 必须是整数秒, 收到 {d!r}")
        if spec.durations is None or d not in spec.durations:
            raise err(400, 1214, f"{model} 的 duration 仅支持 {list(spec.durations or [])}, 收到 {d}")
    if "size" in fields and fields["size"] not in spec.sizes:
        raise err(400, 1214, f"{model} 的 size 仅支持 {list(spec.sizes)}, 收到 {fields['size']!r}")
    if "aspect_ratio" in fields and fields["aspect_ratio"] not in spec.aspect_ratios:
        raise err(400, 1214, f"aspect_ratio 仅支持 {list(spec.aspect_ratios)}")
    if "fps" in fields and (fields["fps"] not in (30, 60) or isinstance(fields["fps"], bool)):
        raise err(400, 1214, "fps 仅支持 30 或 60")
    if "quality" in fields and fields["quality"] not in ("speed", "quality"):
        raise err(400, 1214, "quality 仅支持 speed 或 quality")
    if "movement_amplitude" in fields and fields["movement_amplitude"] not in MOVEMENT:
        raise err(400, 1214, f"movement_amplitude 仅支持 {list(MOVEMENT)}")
    if "style" in fields and fields["style"] not in ("general", "anime"):
        raise err(400, 1214, "style 仅支持 general 或 anime")


def _check_images(model: str, spec: EmuModel, fields: dict[str, Any], err: _Errors) -> None:
    image = fields.get("image_url")
    if image is None:
        if spec.images in ("single", "list_1_2", "list_1_3") and spec.vidu:
            raise err(400, 1213, f"{model} 需要 image_url")
        return
    if spec.images == "none":
        raise err(400, 1214, f"{model} 不支持 image_url")
    if isinstance(image, str):
        if spec.images.startswith("list"):
            raise err(400, 1214, f"{model} 的 image_url 必须是数组")
        _check_image(image, "image_url", spec, err)
        return
    if not isinstance(image, list):
        raise err(400, 1214, "image_url 必须是字符串或字符串数组")
    allowed = {"single": (1, 1), "single_or_pair": (2, 2), "list_1_2": (1, 2), "list_1_3": (1, 3)}[spec.images]
    if spec.images == "single" or not allowed[0] <= len(image) <= allowed[1]:
        raise err(400, 1214, f"{model} 的 image_url 数组长度需在 {allowed[0]} 到 {allowed[1]} 之间, 收到 {len(image)}")
    if spec.images == "single_or_pair" and fields.get("quality") == "quality":
        raise err(400, 1214, "首尾帧模式仅支持 speed 模式 (first and last frame mode only supports speed)")
    dims = [_check_image(item, f"image_url[{i}]", spec, err) for i, item in enumerate(image)]
    if spec.images == "list_1_2" and len(dims) == 2 and dims[0] and dims[1]:
        (w1, h1), (w2, h2) = dims[0], dims[1]
        if not 0.8 <= (w1 / h1) / (w2 / h2) <= 1.25:
            raise err(400, 1214, "首尾帧图片的宽高比差异需在 0.8 到 1.25 之间")


def _latency(model: str) -> float:
    return ZHIPU_LATENCY_S


def _render_shape(model: str, spec: EmuModel, fields: dict[str, Any]) -> tuple[float, str]:
    duration = fields.get("duration") or (spec.durations[0] if spec.durations else 5)
    shape = fields.get("aspect_ratio") or fields.get("size") or spec.sizes[0]
    if model.startswith("cogvideox") and "size" not in fields:
        shape = "1920x1080"  # default: short side 1080, long side from the image's ratio
    return float(duration), shape


def _output(spec: EmuModel, fields: dict[str, Any], shape: str) -> OutputVideo:
    """The video Zhipu returns: ``size`` exactly (cogvideox default 1920x1080: CORE §3.2 'short side 1080'),
    or for Vidu with ``aspect_ratio`` that ratio at the size's short side; the request's fps and with_audio."""
    width, height = output_size(fields.get("size") or shape)
    if fields.get("aspect_ratio"):
        width, height = output_size(fields["aspect_ratio"], min(width, height))
    fps = int(fields.get("fps") or (VIDU_FPS if spec.vidu else ZHIPU_FPS))
    return OutputVideo(width, height, fps=fps, audio=fields.get("with_audio") is True)


def routes(state: EmulatorState) -> list[Route]:
    request_ids: dict[str, str] = {}  # task id -> request_id (duplicates are looked up among live jobs)

    def errors() -> _Errors:
        return _Errors(state.config.zhipu_error_shape)

    async def create(request: Request) -> JSONResponse:
        prefix = _prefix(request)
        state.count(f"POST {prefix}/videos/generations")
        err = errors()
        _auth(request, state, err)
        try:
            body = await json_object(request)
        except EmuHTTPError as exc:
            raise err(400, 1210, exc.message) from None
        model, spec = check_create(body, err)
        prompt = str(body.get("prompt") or "")
        if BLOCK_TRIGGER.lower() in prompt.lower():
            raise err(400, 1301, POLICY_MESSAGE)
        if RATE_TRIGGER.lower() in prompt.lower():
            raise err(429, 1302, "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。")
        request_id = body.get("request_id") or secrets.token_hex(16)
        if any(request_ids.get(t) == request_id for t in state.jobs):
            raise err(400, 1231, f"重复请求: request_id {request_id} 已提交")
        fields = {k: v for k, v in body.items() if v is not None}
        duration, shape = _render_shape(model, spec, fields)
        queue_s, render_s = state.timing(_latency(model))
        trigger = state.config.fail_trigger.lower()
        job = EmuJob(
            task_id=f"{time.time_ns() // 1000}-{secrets.randbelow(10**18):018d}",
            dialect=DIALECT,
            model=model,
            body=body,
            created=state.config.clock(),
            duration=duration,
            aspect_ratio=shape,
            fail_reason="FAIL" if trigger and trigger in prompt.lower() else None,
            queue_s=queue_s,
            render_s=render_s,
            output=_output(spec, fields, shape),
        )
        request_ids[job.task_id] = request_id
        state.add(job)
        return JSONResponse({"model": model, "id": job.task_id, "request_id": request_id, "task_status": "PROCESSING"})

    async def result(request: Request) -> JSONResponse:
        prefix = _prefix(request)
        state.count(f"GET {prefix}/async-result/{{id}}")
        err = errors()
        _auth(request, state, err)
        task_id = request.path_params["task_id"]
        job = state.jobs.get(task_id)
        if job is None or job.dialect != DIALECT:
            raise err(404, 1214, f"任务不存在: {task_id}")
        return JSONResponse(task_json(state, job, str(request.base_url), request_ids.get(task_id)))

    async def cover(request: Request) -> Response:
        state.count("GET /zhipu-cdn/{file}")
        job = state.files.get(request.path_params["token"])
        if job is None or state.phase(job)[0] != "done" or job.fail_reason:
            return Response("not found", status_code=404, media_type="text/plain")
        # the cover is the first frame at the video's size (CORE §3.3 names cover_image_url, not its size)
        shape = job_shape(state, job)
        cover = await run_in_threadpool(render_thumbnail, shape.width, shape.height, shape.text, "JPEG")
        return Response(cover, media_type="image/jpeg")

    out: list[Route] = []
    for prefix in PREFIXES:
        out.append(Route(f"{prefix}/videos/generations", create, methods=["POST"]))
        out.append(Route(f"{prefix}/async-result/{{task_id}}", result, methods=["GET"]))
    out.append(Route("/zhipu-cdn/{token}.jpg", cover, methods=["GET"]))
    return out


def _prefix(request: Request) -> str:
    path = request.url.path
    return next((p for p in PREFIXES if path.startswith(p + "/")), PREFIXES[0])


def task_json(state: EmulatorState, job: EmuJob, base_url: str, request_id: str | None) -> dict[str, Any]:
    phase, _ = state.phase(job)
    body: dict[str, Any] = {
        "model": job.model,
        "request_id": request_id,
        "task_status": "PROCESSING",
    }
    if phase != "done":
        return body
    if job.fail_reason:
        body["task_status"] = "FAIL"
        return body
    base = base_url.rstrip("/")
    body["task_status"] = "SUCCESS"
    body["video_result"] = [
        {"url": f"{base}/cdn/{job.file_token}.mp4", "cover_image_url": f"{base}/zhipu-cdn/{job.file_token}.jpg"}
    ]
    return body
