"""fal.ai's queue API, emulated: ``POST /{owner}/{app}[/{sub}]`` (``?fal_webhook=``), then
``GET /{owner}/{app}/requests/{id}/status``, ``GET /{owner}/{app}/requests/{id}``, ``PUT …/cancel``, and the JWKS at
``/.well-known/jwks.json`` (fal serves it at rest.alpha.fal.ai).

Written from the reference text (providers-2026.md §2), independently of vidgate's catalog: the app list and
input checks below are the emulator's own. Auth: ``Authorization: Key <key>``. Status/result/cancel URLs drop the
app's sub-path, as fal's do. Validation errors are 422 ``{"detail": [{"loc", "msg", "type"}]}``.
Failures end ``COMPLETED`` and the result fetch answers the error. Webhooks are signed with ED25519 by a key pair
generated when the emulator starts: message = request_id \\n user_id \\n timestamp \\n sha256_hex(body), hex signature.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.callbacks import when_final
from vidgate.emulator.dialects._common import EmuHTTPError
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

log = logging.getLogger(__name__)
DIALECT = "fal"
OWNERS = ("fal-ai", "bytedance", "blackforestlabs")
USER_ID = "emulator-user"
LATENCY_S = 60.0


@dataclass(frozen=True)
class App:
    """One app's input schema as the reference states it."""

    durations: tuple[Any, ...] = ()  # exact wire values ("5" or 5); empty = no duration field
    aspects: tuple[str, ...] = ()
    resolutions: tuple[str, ...] = ()
    image_fields: tuple[str, ...] = ()  # accepted image fields
    required_image: str | None = None
    list_fields: dict[str, int] | None = None  # list field -> max items
    extra: frozenset[str] = frozenset()


_KLING = frozenset({"negative_prompt", "generate_audio", "cfg_scale"})
_SEED = frozenset({"seed"})
APPS: dict[str, App] = {
    "fal-ai/kling-video/v2.6/pro/text-to-video": App(("5", "10"), ("16:9", "9:16", "1:1"), extra=_KLING),
    "fal-ai/kling-video/v2.6/pro/image-to-video": App(
        ("5", "10"), ("16:9", "9:16", "1:1"), (), ("start_image_url",), "start_image_url", extra=_KLING
    ),
    "fal-ai/kling-video/v3/pro/text-to-video": App(("5", "10"), ("16:9", "9:16", "1:1"), extra=_KLING),
    "fal-ai/kling-video/v3/pro/image-to-video": App(
        ("5", "10"), ("16:9", "9:16", "1:1"), (), ("start_image_url", "end_image_url"), "start_image_url", extra=_KLING
    ),
    "fal-ai/kling-video/v4/image-to-video": App(
        ("5", "10"), (), (), ("start_image_url", "end_image_url"), "start_image_url", {"middle_image_urls": 8}, _KLING
    ),
    "bytedance/seedance-2.0/text-to-video": App(
        ("5", "10"), ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16"), ("480p", "720p", "1080p"), extra=_SEED
    ),
    "bytedance/seedance-2.0/fast/text-to-video": App(
        ("5", "10"), ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16"), ("480p", "720p", "1080p"), extra=_SEED
    ),
    "bytedance/seedance-2.0/image-to-video": App(
        ("5", "10"),
        ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16"),
        ("480p", "720p", "1080p"),
        ("image_url",),
        "image_url",
        extra=_SEED,
    ),
    "fal-ai/bytedance/seedance/v1.5/pro/text-to-video": App(
        ("5", "10"), ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "auto"), extra=_SEED
    ),
    "fal-ai/veo3.1": App(("4s", "6s", "8s"), ("16:9", "9:16"), ("720p", "1080p"), extra=_KLING | _SEED),
    "blackforestlabs/flux-3-max/text-to-video": App((5, 10), ("16:9", "9:16", "1:1"), extra=_SEED),
    "blackforestlabs/flux-3-max/image-to-video": App((5, 10), (), (), ("image_url",), "image_url", extra=_SEED),
}


class FalError(EmuHTTPError):
    def __init__(self, status: int, detail: Any, error_type: str | None = None) -> None:
        super().__init__(status, str(detail), error_type or "fal_error")
        self.detail = detail
        self.error_type = error_type

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"detail": self.detail}
        headers = {}
        if self.error_type:
            body["error_type"] = self.error_type
            headers["X-Fal-Error-Type"] = self.error_type
        return JSONResponse(body, status_code=self.status, headers=headers)


def output_video(app: App, body: dict[str, Any]) -> OutputVideo:
    """The app's video: ``aspect_ratio`` (16:9 when absent or ``auto``) at ``resolution`` (default 720p: the
    reference names no default [choice]), 24 fps [choice], sound when ``generate_audio`` is taken and not
    false (the fal Kling/Veo pages price audio on, providers-2026.md §2 [choice: default on])."""
    aspect = str(body.get("aspect_ratio") or "16:9")
    size = output_size("16:9" if aspect == "auto" else aspect, str(body.get("resolution") or "720p"))
    return OutputVideo(*size, fps=24, audio="generate_audio" in app.extra and body.get("generate_audio") is not False)


def missing(field: str) -> dict[str, Any]:
    return {"loc": ["body", field], "msg": "field required", "type": "value_error.missing"}


def bad(field: str, value: Any, allowed: Any) -> dict[str, Any]:
    return {
        "loc": ["body", field],
        "msg": f"unexpected value; permitted: {', '.join(repr(a) for a in allowed)}",
        "type": "value_error.const",
        "input": value,
    }


def check_input(app: App, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The 422 detail[] entries for a submit body (empty when it passes)."""
    out: list[dict[str, Any]] = []
    known = {"prompt", "duration", "aspect_ratio", "resolution", *app.image_fields, *(app.list_fields or {})}
    if not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
        out.append(missing("prompt"))
    for field, allowed in (("duration", app.durations), ("aspect_ratio", app.aspects), ("resolution", app.resolutions)):
        if field in body and body[field] not in allowed:
            out.append(bad(field, body[field], allowed) if allowed else _extra(field))
    if app.required_image and not body.get(app.required_image):
        out.append(missing(app.required_image))
    for field in app.image_fields:
        value = body.get(field)
        if value is not None and not (isinstance(value, str) and value.startswith(("http://", "https://", "data:"))):
            out.append({"loc": ["body", field], "msg": "invalid url or data uri", "type": "value_error.url"})
    for field, limit in (app.list_fields or {}).items():
        value = body.get(field)
        if value is not None and (not isinstance(value, list) or len(value) > limit):
            out.append({"loc": ["body", field], "msg": f"ensure this value has at most {limit} items",
                        "type": "value_error.list.max_items"})  # fmt: skip
    for field in sorted(set(body) - known - app.extra):
        out.append(_extra(field))
    return out


def _extra(field: str) -> dict[str, Any]:
    return {"loc": ["body", field], "msg": "extra fields not permitted", "type": "value_error.extra"}


class Signer:
    """The emulator's webhook key pair, generated at start; its public key is served as a JWKS."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.kid = secrets.token_hex(8)

    def jwks(self) -> dict[str, Any]:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "use": "sig", "alg": "EdDSA"}]}

    def headers(self, request_id: str, user_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        message = "\n".join([request_id, user_id, ts, hashlib.sha256(body).hexdigest()]).encode()
        return {
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": user_id,
            "X-Fal-Webhook-Timestamp": ts,
            "X-Fal-Webhook-Signature": self.key.sign(message).hex(),
        }


def routes(state: EmulatorState) -> list[Route]:
    signer = Signer()
    hooks: set[asyncio.Task[None]] = set()

    def auth(request: Request) -> None:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme != "Key" or token not in state.config.api_keys:
            raise FalError(401, "Invalid or missing Authorization header: expected 'Key <FAL_KEY>'")

    def find(request: Request, root: str) -> EmuJob:
        job = state.jobs.get(request.path_params["rid"])
        if job is None or job.dialect != DIALECT or job.meta.get("root") != root:
            raise FalError(404, f"Request {request.path_params['rid']} not found")
        return job

    def urls(base: str, root: str, rid: str) -> dict[str, str]:
        url = f"{base.rstrip('/')}/{root}/requests/{rid}"
        return {"response_url": url, "status_url": f"{url}/status", "cancel_url": f"{url}/cancel"}

    async def submit(request: Request, app_id: str) -> JSONResponse:
        state.count("POST /{app}")
        auth(request)
        app = APPS.get(app_id)
        if app is None:
            raise FalError(404, f"Application '{app_id}' not found")
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise FalError(422, [{"loc": ["body"], "msg": "invalid json", "type": "value_error.jsondecode"}]) from None
        if not isinstance(body, dict):
            raise FalError(422, [{"loc": ["body"], "msg": "must be an object", "type": "type_error.dict"}])
        problems = check_input(app, body)
        if problems:
            raise FalError(422, problems)
        timeout = request.headers.get("x-fal-request-timeout")
        if timeout is not None and not timeout.isdigit():
            raise FalError(400, "x-fal-request-timeout must be whole seconds")
        root = "/".join(app_id.split("/")[:2])
        queue_s, render_s = state.timing(LATENCY_S)
        prompt = str(body.get("prompt") or "")
        trigger = state.config.fail_trigger.lower()
        duration = body.get("duration") or (app.durations[0] if app.durations else 5)
        job = EmuJob(
            task_id=secrets.token_hex(4) + "-" + secrets.token_hex(2) + "-" + secrets.token_hex(6),
            dialect=DIALECT,
            model=app_id,
            body=body,
            created=state.config.clock(),
            duration=float(str(duration).rstrip("s")),
            aspect_ratio=str(body.get("aspect_ratio") or "16:9"),
            fail_reason="Content policy violation: the output was flagged" if trigger and trigger in prompt.lower()
            else None,
            queue_s=queue_s,
            render_s=render_s,
            meta={"root": root, "headers": {k: v for k, v in request.headers.items() if k.startswith("x-fal-")}},
            output=output_video(app, body),
        )  # fmt: skip
        state.add(job)
        base = str(request.base_url)
        hook = request.query_params.get("fal_webhook")
        if hook:
            schedule_webhook(job, hook, base)
        return JSONResponse(
            {
                "request_id": job.task_id,
                "gateway_request_id": job.task_id,
                "status": "IN_QUEUE",
                "queue_position": 0,
                **urls(base, root, job.task_id),
            }
        )

    def status_json(job: EmuJob) -> dict[str, Any]:
        if job.meta.get("cancelled"):
            return {"status": "COMPLETED", "request_id": job.task_id, "logs": []}
        phase, fraction = state.phase(job)
        if phase == "queued":
            return {"status": "IN_QUEUE", "request_id": job.task_id, "queue_position": 0}
        log_line = {"message": f"rendering {int(fraction * 100)}%", "level": "INFO", "source": "user",
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S")}  # fmt: skip
        if phase == "running":
            return {"status": "IN_PROGRESS", "request_id": job.task_id, "logs": [log_line]}
        return {"status": "COMPLETED", "request_id": job.task_id, "logs": [log_line],
                "metrics": {"inference_time": job.render_s}}  # fmt: skip

    def result_json(job: EmuJob, base: str) -> tuple[int, dict[str, Any]]:
        if job.meta.get("cancelled"):
            return 400, {"detail": "Request was cancelled", "error_type": "request_cancelled"}
        if job.fail_reason:
            return 422, {"detail": job.fail_reason, "error": job.fail_reason, "error_type": "content_policy_violation"}
        return 200, {
            "video": {
                "url": f"{base.rstrip('/')}/cdn/{job.file_token}.mp4",
                "content_type": "video/mp4",
                "file_name": f"{job.task_id}.mp4",
                "file_size": None,
            },
            "seed": 42,
        }

    async def status(request: Request, root: str) -> JSONResponse:
        state.count("GET /{app}/requests/{id}/status")
        auth(request)
        return JSONResponse(status_json(find(request, root)))

    async def result(request: Request, root: str) -> JSONResponse:
        state.count("GET /{app}/requests/{id}")
        auth(request)
        job = find(request, root)
        if status_json(job)["status"] != "COMPLETED":
            return JSONResponse({"detail": "Request is still in progress"}, status_code=400)
        code, body = result_json(job, str(request.base_url))
        return JSONResponse(body, status_code=code, headers={"x-fal-request-id": job.task_id})

    async def cancel(request: Request, root: str) -> JSONResponse:
        state.count("PUT /{app}/requests/{id}/cancel")
        auth(request)
        try:
            job = find(request, root)
        except FalError:
            return JSONResponse({"status": "NOT_FOUND"}, status_code=404)
        phase, _ = state.phase(job)
        if phase == "done" or job.meta.get("cancelled"):
            return JSONResponse({"status": "ALREADY_COMPLETED"}, status_code=400)
        job.meta["cancelled"] = True
        return JSONResponse({"status": "CANCELLATION_REQUESTED" if phase == "running" else "OK"}, status_code=202)

    def schedule_webhook(job: EmuJob, url: str, base: str) -> None:
        when_final(state, job, lambda: send_webhook(job, url, base), hooks)

    async def send_webhook(job: EmuJob, url: str, base: str) -> None:
        code, payload = result_json(job, base)
        envelope: dict[str, Any] = {"request_id": job.task_id, "gateway_request_id": job.task_id,
                                    "status": "OK" if code == 200 else "ERROR", "payload": payload}  # fmt: skip
        if code != 200:
            envelope["error"] = f"Invalid status code: {code}"
        raw = json.dumps(envelope).encode()
        headers = {"Content-Type": "application/json", **signer.headers(job.task_id, USER_ID, raw)}
        try:
            async with httpx.AsyncClient(timeout=15) as http:
                answer = await http.post(url, content=raw, headers=headers)
            job.meta["webhook_status"] = answer.status_code
            state.count("fal webhook sent" if answer.status_code < 400 else "fal webhook failed")
        except httpx.HTTPError as exc:
            state.count("fal webhook failed")
            log.info("fal webhook for %s not delivered: %s", job.task_id, exc.__class__.__name__)

    async def jwks(request: Request) -> JSONResponse:
        state.count("GET /.well-known/jwks.json")
        return JSONResponse(signer.jwks())

    async def dispatch(request: Request) -> Response:
        owner, rest = request.path_params["owner"], request.path_params["rest"].strip("/")
        parts = rest.split("/")
        if "requests" in parts:
            i = parts.index("requests")
            root = "/".join([owner, *parts[:i]])
            tail = parts[i + 1 :]
            if not tail:
                raise FalError(404, "Not found")
            request.path_params["rid"] = tail[0]
            action = tail[1:]
            if request.method == "GET" and action == ["status"]:
                return await status(request, root)
            if request.method == "GET" and not action:
                return await result(request, root)
            if request.method == "PUT" and action == ["cancel"]:
                return await cancel(request, root)
            raise FalError(405, "Method not allowed")
        if request.method != "POST":
            raise FalError(405, "Method not allowed")
        return await submit(request, f"{owner}/{rest}")

    out = [Route("/.well-known/jwks.json", jwks, methods=["GET"])]
    for owner in OWNERS:
        out.append(Route(f"/{owner}/{{rest:path}}", _with_owner(owner, dispatch), methods=["GET", "POST", "PUT"]))
    return out


def _with_owner(owner: str, handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        request.path_params["owner"] = owner
        return await handler(request)  # type: ignore[no-any-return]

    return endpoint
