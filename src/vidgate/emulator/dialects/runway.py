"""Runway's developer API, emulated from the reference text (providers-2026.md §8, more-providers.md §3),
independently of vidgate's catalog: its own table of the per-model body unions.

Routes: ``POST /v1/image_to_video``, ``POST /v1/text_to_video`` (answer ``{"id"}``), ``GET /v1/tasks/{id}``
(the task object, discriminated on ``status``) and ``DELETE /v1/tasks/{id}`` (204: cancels a PENDING /
THROTTLED / RUNNING task, deletes a finished one and purges its output; either then reads ``CANCELLED``).
Every request needs ``Authorization: Bearer <key>`` and ``X-Runway-Version: 2024-11-06``.

A task created while ``MAX_CONCURRENCY`` others of the same model are unfinished waits as ``THROTTLED`` instead of
``PENDING`` (the tiers page). Errors: ``{"error": "...", "issues": [{"path": [...], "message"}]}``. Triggers in
``promptText``: ``RATE_LIMIT`` -> 429 (the daily cap); the config's ``fail_trigger`` -> the task ends ``FAILED``
with ``failureCode`` ``SAFETY.INPUT.TEXT``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.dialects._common import EmuHTTPError
from vidgate.emulator.faults_shapes import register_shape_prefix
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "runway"
VERSION = "2024-11-06"  # X-Runway-Version must be exactly this (more-providers.md R2)
RATE_TRIGGER = "RATE_LIMIT"
MAX_CONCURRENCY = 2  # tier 1: "max concurrency 1-2"; more unfinished tasks wait in THROTTLED
LATENCY_S = 90.0
DATA_URI_MAX_CHARS = 5_242_880  # a data URI string <= 5 MB (R2/R3)
MAX_SEED = 4_294_967_295
register_shape_prefix("/v1/tasks", "runway")
register_shape_prefix("/v1/image_to_video", "runway")
register_shape_prefix("/v1/text_to_video", "runway")

_R6 = ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672")  # gen4.5 / gen4_turbo
_VEO = ("1280:720", "720:1280", "1080:1920", "1920:1080")


@dataclass(frozen=True)
class Union:
    """One model's body in one endpoint's union, as the reference transcribes it."""

    fields: frozenset[str]
    required: frozenset[str] = frozenset()
    ratios: tuple[str, ...] = ()  # () with ratio_max_side 0: no ratio field
    ratio_max_side: int = 0  # Seedance: any W:H from 432 up to this many pixels on a side
    durations: tuple[int, ...] = ()  # () with duration_range None: any positive integer
    duration_range: tuple[int, int] | None = None
    prompt_max: int = 1000  # UTF-16 code units
    positions: frozenset[str] = frozenset({"first"})  # promptImage positions; "" = reference (no position)
    resolutions: tuple[str, ...] = ()
    default_duration: int = 5


def _u(*names: str) -> frozenset[str]:
    return frozenset({"model", *names})


_I2V_BASE = ("promptImage", "promptText", "seed")
I2V: dict[str, Union] = {
    "gen4.5": Union(_u(*_I2V_BASE, "ratio", "duration", "contentModeration"),
                    _u("promptImage", "promptText", "ratio", "duration"), _R6, duration_range=(2, 10)),
    "gen4_turbo": Union(_u(*_I2V_BASE, "ratio", "duration", "contentModeration"), _u("promptImage"), _R6,
                        durations=(5, 10), default_duration=10),
    "veo3.1": Union(_u(*_I2V_BASE, "ratio", "duration", "audio", "negativePrompt"), _u("promptImage"), _VEO,
                    durations=(4, 6, 8), positions=frozenset({"first", "last"}), default_duration=8),
    "veo3": Union(_u(*_I2V_BASE, "ratio", "duration", "negativePrompt"), _u("promptImage"), _VEO, durations=(8,),
                  default_duration=8),
    "happyhorse_1_0": Union(_u(*_I2V_BASE, "resolution"), _u("promptImage"), prompt_max=2500,
                            resolutions=("720P", "1080P")),
    "seedance2": Union(_u(*_I2V_BASE, "ratio", "duration", "audio", "referenceAudio"), _u("promptImage"),
                       ratio_max_side=3840, prompt_max=3500, positions=frozenset({"first", "last", ""})),
    "gemini_omni_flash": Union(_u(*_I2V_BASE, "ratio", "duration"), _u("promptImage"), ("1280:720", "720:1280"),
                               duration_range=(3, 10), default_duration=8),
}  # fmt: skip
I2V["veo3.1_fast"] = I2V["veo3.1"]
I2V["seedance2_fast"] = I2V["seedance2_mini"] = Union(
    I2V["seedance2"].fields, I2V["seedance2"].required, ratio_max_side=1280, prompt_max=3500,
    positions=frozenset({"first", "last", ""}),
)  # fmt: skip
# text_to_video: "the same model family" (providers-2026.md §8); gen4.5 takes two ratios there (R2)
T2V: dict[str, Union] = {
    "gen4.5": Union(_u("promptText", "ratio", "duration", "seed", "contentModeration"),
                    _u("promptText", "ratio", "duration"), ("1280:720", "720:1280"), duration_range=(2, 10)),
    **{m: Union(u.fields - {"promptImage"} | ({"referenceVideo"} if m.startswith("seedance") else set()),
                u.required - {"promptImage"} | {"promptText"}, u.ratios, u.ratio_max_side, u.durations,
                u.duration_range, u.prompt_max, frozenset(), u.resolutions, u.default_duration)
       for m, u in I2V.items() if m not in ("gen4.5", "gen4_turbo")},
}  # fmt: skip


class RunwayEmuError(EmuHTTPError):
    def __init__(self, status: int, message: str, issues: list[dict[str, Any]] | None = None) -> None:
        super().__init__(status, message, str(status))
        self.issues = issues

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.message}
        if self.issues:
            body["issues"] = self.issues
        return JSONResponse(body, status_code=self.status)


def invalid(path: str, message: str) -> RunwayEmuError:
    return RunwayEmuError(400, "Validation of body failed", [{"path": path.split("."), "message": message}])


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _is_uri(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if value.startswith("https://") or value.startswith("runway://") or value.startswith("http://127.0.0.1"):
        return True
    return value.startswith("data:image/") and ";base64," in value and len(value) <= DATA_URI_MAX_CHARS


def image_items(value: Any) -> list[tuple[str, str]]:
    """``promptImage`` as ``[(uri, position)]`` (position ``""`` = none given)."""
    if isinstance(value, str):
        return [(value, "first")]
    if not isinstance(value, list) or not value:
        raise invalid("promptImage", "must be a URI string or a non-empty array of {uri, position}")
    items = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"uri", "position"} or "uri" not in item:
            raise invalid(f"promptImage.{i}", "must be an object {uri, position}")
        items.append((item["uri"], item.get("position", "")))
    return items


def check_images(model: str, union: Union, value: Any) -> None:
    items = image_items(value)
    for i, (uri, position) in enumerate(items):
        if not _is_uri(uri):
            raise invalid(f"promptImage.{i}.uri", "must be an HTTPS URL, a runway:// upload URI or a data URI <= 5 MB")
        if position not in union.positions:
            allowed = sorted(p or "(none)" for p in union.positions)
            raise invalid(f"promptImage.{i}.position", f"{position or '(none)'} not allowed for {model}: {allowed}")
    positions = [p for _, p in items]
    if "last" in positions and "first" not in positions:
        raise invalid("promptImage", f"{model}: a last frame needs a first frame")
    if "" in positions and any(positions):
        raise invalid("promptImage", "keyframes (first/last) and reference images cannot be mixed")
    if len([p for p in positions if p]) != len({p for p in positions if p}):
        raise invalid("promptImage", "each position at most once")


def check_ratio(union: Union, value: Any) -> None:
    if union.ratios:
        if value not in union.ratios:
            raise invalid("ratio", f"must be one of {list(union.ratios)}")
        return
    m = re.fullmatch(r"(\d+):(\d+)", value) if isinstance(value, str) else None
    if m is None or not all(432 <= int(x) <= union.ratio_max_side for x in m.groups()):
        raise invalid("ratio", f"must be W:H with each side from 432 to {union.ratio_max_side}")


def check_body(endpoint: str, body: dict[str, Any]) -> tuple[str, Union]:
    table = I2V if endpoint == "image_to_video" else T2V
    model = body.get("model")
    if model not in table:
        raise invalid("model", f"must be one of {sorted(table)}")
    union = table[model]
    unknown = sorted(set(body) - union.fields)
    if unknown:
        raise invalid(unknown[0], f"unrecognized key for model {model}")
    missing = sorted(union.required - set(body))
    if missing:
        raise invalid(missing[0], "required")
    text = body.get("promptText")
    if text is not None and (not isinstance(text, str) or not 1 <= utf16_units(text) <= union.prompt_max):
        raise invalid("promptText", f"1 to {union.prompt_max} UTF-16 code units")
    if "promptImage" in body:
        check_images(model, union, body["promptImage"])
    if "ratio" in body:
        check_ratio(union, body["ratio"])
    if "duration" in body:
        d = body["duration"]
        if isinstance(d, bool) or not isinstance(d, int):
            raise invalid("duration", "must be an integer")
        lo, hi = union.duration_range or (1, 15)
        if (union.durations and d not in union.durations) or (not union.durations and not lo <= d <= hi):
            raise invalid("duration", f"must be {list(union.durations) or f'{lo} to {hi}'}")
    if "resolution" in body and body["resolution"] not in union.resolutions:
        raise invalid("resolution", f"must be one of {list(union.resolutions)}")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        raise invalid("seed", f"integer 0 to {MAX_SEED}")
    for flag in ("audio",):
        if flag in body and not isinstance(body[flag], bool):
            raise invalid(flag, "must be a boolean")
    moderation = body.get("contentModeration")
    if moderation is not None and (
        not isinstance(moderation, dict) or moderation.get("publicFigureThreshold", "auto") not in ("auto", "low")
    ):
        raise invalid("contentModeration.publicFigureThreshold", "auto or low")
    return model, union


def image_aspect(uri: str) -> str | None:
    """``W:H`` of a data-URI image (happyhorse: the video follows the image), None when it cannot be read."""
    if not uri.startswith("data:"):
        return None
    try:
        from PIL import Image

        with Image.open(io.BytesIO(base64.b64decode(uri.partition(",")[2]))) as img:
            return f"{img.width}:{img.height}"
    except (binascii.Error, ValueError, OSError):
        return None


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def routes(state: EmulatorState) -> list[Route]:
    def auth(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if (
            scheme.lower() != "bearer"
            or not token
            or not any(hmac.compare_digest(token.encode(), k.encode()) for k in state.config.api_keys)
        ):
            raise RunwayEmuError(401, "Invalid API key")
        version = request.headers.get("x-runway-version")
        if version != VERSION:
            raise RunwayEmuError(400, f"X-Runway-Version header must be {VERSION!r}, got {version!r}")

    def find(request: Request) -> EmuJob:
        job = state.jobs.get(request.path_params["task_id"])
        if job is None or job.dialect != DIALECT:
            raise RunwayEmuError(404, "Task not found")
        return job

    async def create(request: Request) -> JSONResponse:
        endpoint = request.url.path.rsplit("/", 1)[-1]
        state.count(f"POST /v1/{endpoint}")
        auth(request)
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RunwayEmuError(400, "Request body must be JSON") from None
        if not isinstance(body, dict):
            raise RunwayEmuError(400, "Request body must be a JSON object")
        model, union = check_body(endpoint, body)
        prompt = str(body.get("promptText") or "")
        if RATE_TRIGGER.lower() in prompt.lower():
            raise RunwayEmuError(429, "You have exceeded the daily task limit for this model")
        trigger = state.config.fail_trigger.lower()
        aspect = body.get("ratio")
        if aspect is None and "promptImage" in body:
            aspect = image_aspect(image_items(body["promptImage"])[0][0])
        busy = sum(1 for j in state.jobs.values() if j.dialect == DIALECT and j.model == model
                   and not j.meta.get("cancelled_at") and state.phase(j)[0] != "done")  # fmt: skip
        queue_s, render_s = state.timing(LATENCY_S)
        job = EmuJob(
            task_id=str(uuid.uuid4()),
            dialect=DIALECT,
            model=model,
            body=body,
            created=state.config.clock(),
            duration=float(body.get("duration") or union.default_duration),
            aspect_ratio=str(aspect or "1280:720"),
            # ratio is the frame in pixels ("1280:720"); 24 fps; sound only from the Veo 3 family it hosts
            output=OutputVideo(*output_size(str(aspect or "1280:720").replace(":", "x")), fps=24,
                               audio=model.startswith("veo3")),
            fail_reason="The prompt text was flagged by content moderation" if trigger and trigger in prompt.lower()
            else None,
            queue_s=queue_s,
            render_s=render_s,
        )  # fmt: skip
        job.meta["throttled"] = busy >= MAX_CONCURRENCY
        job.meta["resolution"] = body.get("resolution")
        state.add(job)
        return JSONResponse({"id": job.task_id})

    async def get(request: Request) -> JSONResponse:
        state.count("GET /v1/tasks/{id}")
        auth(request)
        return JSONResponse(task(state, find(request), str(request.base_url)))

    async def delete(request: Request) -> Response:
        state.count("DELETE /v1/tasks/{id}")
        auth(request)
        job = find(request)
        if not job.meta.get("cancelled_at"):
            job.meta["cancelled_at"] = state.config.clock()
        return Response(status_code=204)

    return [
        Route("/v1/image_to_video", create, methods=["POST"]),
        Route("/v1/text_to_video", create, methods=["POST"]),
        Route("/v1/tasks/{task_id}", get, methods=["GET"]),
        Route("/v1/tasks/{task_id}", delete, methods=["DELETE"]),
    ]


def task(state: EmulatorState, job: EmuJob, base_url: str) -> dict[str, Any]:
    """The task object now: cancel/delete applied, then the phase on the emulator's clock."""
    body: dict[str, Any] = {"id": job.task_id, "createdAt": _iso_created(job)}
    if job.meta.get("cancelled_at") is not None:
        return {**body, "status": "CANCELLED"}  # cancelled, or deleted after it finished: output purged
    phase, fraction = state.phase(job)
    if phase == "queued":
        return {**body, "status": "THROTTLED" if job.meta.get("throttled") else "PENDING"}
    if phase == "running":
        return {**body, "status": "RUNNING", "progress": round(fraction, 2)}
    if job.fail_reason:
        code = "SAFETY.INPUT.TEXT" if job.fail_reason.startswith("The prompt") else "SAFETY.OUTPUT.VIDEO"
        return {**body, "status": "FAILED", "failure": job.fail_reason, "failureCode": code}
    return {**body, "status": "SUCCEEDED", "output": [f"{base_url.rstrip('/')}/cdn/{job.file_token}.mp4"]}


def _iso_created(job: EmuJob) -> str:
    # the job clock is monotonic; createdAt only needs to be a well-formed ISO-8601 instant
    return str(job.meta.setdefault("created_at", _iso(datetime.now(UTC).timestamp())))
