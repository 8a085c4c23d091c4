"""fal.ai's queue API: ``POST {base}/{app}``, then the returned status / response / cancel URLs.

Auth is ``Authorization: Key <FAL_KEY>``. The status, result and cancel URLs drop the app's sub-path
(``fal-ai/kling-video/v3/pro/text-to-video`` polls at ``fal-ai/kling-video/requests/{id}/status``). The job's
``provider_task_id`` is fal's ``request_id`` (what webhooks name, so a delivery finds its job); the returned
``response_url`` is checked at submit to be ``{owner}/{app}/requests/{id}`` on the configured host (anything else is
a ProtocolError, never followed) and polling, result and cancel use that path.
Failures end ``COMPLETED`` too: the result fetch then answers with an error. How each app names its fields
(``image_url`` or ``start_image_url``|``end_image_url``; duration as ``"5"`` or ``5``) is catalog data: ``images.field``
lists one wire field per entry of ``images.roles``, separated by ``|``.
Source: shared/reference/providers-2026.md §2.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import ProtocolError, ProviderHTTPError, ValidationError
from vidgate.media import encode_for_json
from vidgate.problems import Problem
from vidgate.providers._base import Connection, Dialect, Flow, JobUpdate, Prepared, http_error, json_body
from vidgate.providers._failure_text import classify_failure
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus

# Documented statuses (fal-js types); FAILED/CANCELED only in a third-party schema, handled defensively.
STATUS_MAP: dict[str, JobStatus | None] = {
    "IN_QUEUE": JobStatus.queued,
    "IN_PROGRESS": JobStatus.running,
    "COMPLETED": None,  # success or failure: decided by the result fetch
    "FAILED": JobStatus.failed,
    "CANCELED": JobStatus.cancelled,
    "CANCELLED": JobStatus.cancelled,
}
CANCEL_STATUSES = ("OK", "CANCELLATION_REQUESTED", "ALREADY_COMPLETED", "NOT_FOUND")
# Error types that are the platform's own transient failures (retry is safe; 5xx are not billed).
RETRYABLE_ERROR_TYPES = frozenset(
    {"request_timeout", "startup_timeout", "runner_scheduling_failure", "runner_connection_timeout",
     "runner_disconnected", "runner_connection_refused"}
)  # fmt: skip


class FalOptions(BaseModel):
    """Extra fields and control headers (which body fields a model takes is in the catalog's ``options``)."""

    model_config = ConfigDict(extra="forbid")

    negative_prompt: str | None = Field(None, description="What the video should not show")
    generate_audio: bool | None = Field(None, description="Kling / Veo: generate an audio track")
    seed: int | None = Field(None, description="Random seed")
    cfg_scale: float | None = Field(None, ge=0, le=1, description="Kling: prompt adherence 0-1")
    queue_priority: Literal["normal", "low"] | None = Field(None, description="Header x-fal-queue-priority")
    request_timeout_s: int | None = Field(
        None, ge=1, description="Header x-fal-request-timeout: seconds allowed *before* processing starts"
    )
    no_retry: bool | None = Field(None, description="Header x-fal-no-retry: disable fal's automatic retries")
    output_expiration_s: int | None = Field(
        None, ge=60, description="Header x-fal-object-lifecycle-preference: CDN lifetime of the outputs"
    )
    webhook_url: str | None = Field(None, description="fal_webhook query parameter: fal POSTs the result here")


HEADER_OPTIONS = frozenset({"queue_priority", "request_timeout_s", "no_retry", "output_expiration_s", "webhook_url"})


def image_fields(spec: ModelSpec) -> dict[ImageRole, str]:
    """Role -> wire field, from the catalog: ``images.field`` = ``a|b`` pairs with ``images.roles``."""
    names = [n.strip() for n in (spec.images.field or "image_url").split("|")]
    roles = spec.images.roles or [spec.images.default_role]
    return {role: names[min(i, len(names) - 1)] for i, role in enumerate(roles)}


def app_root(model: str) -> str:
    """``{owner}/{app}``: where fal's status, result and cancel URLs live."""
    parts = model.strip("/").split("/")
    return "/".join(parts[:2])


def request_path(model: str, request_id: str) -> str:
    """``{owner}/{app}/requests/{id}``: where fal's returned status / response / cancel URLs point."""
    return f"{app_root(model)}/requests/{quote(request_id, safe='')}"


def returned_path(conn: Connection, url: Any) -> str | None:
    """A returned URL's path under the configured base, or None when it points anywhere else (never followed)."""
    if not isinstance(url, str) or not url:
        return None
    base, got = urlsplit(conn.base_url), urlsplit(url)
    prefix = base.path.rstrip("/") + "/"
    if (got.scheme, got.netloc) != (base.scheme, base.netloc) or not got.path.startswith(prefix):
        return None
    path = got.path[len(prefix) :].strip("/")
    return path if path and ".." not in path.split("/") else None


def fal_http_error(provider: str, response: httpx.Response, spec: ModelSpec | None = None) -> Exception:
    """422 ``detail[]`` -> ValidationError with one Problem per field; other errors typed by status."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if response.status_code == 422 and isinstance(detail, list) and detail:
        problems = [_problem(d, spec) for d in detail if isinstance(d, dict)]
        if problems:
            return ValidationError(problems, spec.key if spec else "")
    base = http_error(provider, response)
    error_type = response.headers.get("x-fal-error-type") or (
        body.get("error_type") if isinstance(body, dict) else None
    )
    if error_type and not base.code:
        base.code = str(error_type)
    return base


def _problem(item: dict[str, Any], spec: ModelSpec | None) -> Problem:
    loc = [str(x) for x in item.get("loc") or [] if str(x) != "body"]
    wire = loc[0] if loc else "request"
    field = wire
    if spec is not None:
        table: dict[str | None, str] = {
            spec.duration.field: "duration",
            spec.aspect_ratio.field: "aspect_ratio",
            spec.resolution.field: "resolution",
            spec.size.field: "size",
            "prompt": "prompt",
            **{name: "images" for name in image_fields(spec).values()},
        }
        field = table.get(wire) or wire
    message = str(item.get("msg") or item.get("type") or "rejected by fal")
    return Problem(field, item.get("input"), f"fal: {message} (field {'.'.join(loc) or wire})")


class Fal(Dialect):
    name = "fal"
    Options = FalOptions
    operations = frozenset({"cancel"})
    signed_callback = "fal"  # fal_webhook, ED25519-signed, names request_id

    def auth_headers(self, conn: Connection) -> dict[str, str]:
        return {"Authorization": f"Key {conn.api_key}"} if conn.api_key else {}

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        body: dict[str, Any] = {}
        if req.prompt.strip():
            body["prompt"] = req.prompt
        fields = image_fields(spec)
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            name = fields.get(role) or next(iter(fields.values()))
            value = encode_for_json(img, spec.images)
            if name.endswith("_urls"):
                body.setdefault(name, []).append(value)
            else:
                body[name] = value
        if req.duration is not None and spec.duration.field:
            body[spec.duration.field] = spec.duration.encode(req.duration)
        for attr in ("aspect_ratio", "resolution", "size"):
            chosen = getattr(req, attr, None)
            choice = getattr(spec, attr)
            if chosen is not None and choice.field:
                body[choice.field] = chosen
        options = FalOptions.model_validate(req.options).model_dump(exclude_none=True)
        body.update({k: v for k, v in options.items() if k not in HEADER_OPTIONS})
        return body

    def submit_request(self, prepared: Prepared, conn: Connection) -> httpx.Request:
        request = self.json_request("POST", conn, prepared.spec.model.strip("/"), self.create_body(prepared))
        options = FalOptions.model_validate(prepared.request.options)
        if options.queue_priority:
            request.headers["x-fal-queue-priority"] = options.queue_priority
        if options.request_timeout_s is not None:
            request.headers["x-fal-request-timeout"] = str(options.request_timeout_s)
        if options.no_retry:
            request.headers["x-fal-no-retry"] = "1"
        if options.output_expiration_s is not None:
            request.headers["x-fal-object-lifecycle-preference"] = (
                f'{{"expiration_duration_seconds": {options.output_expiration_s}}}'
            )
        webhook = options.webhook_url or prepared.request.webhook_url
        if webhook:
            request.url = request.url.copy_merge_params({"fal_webhook": webhook})
        return request

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.submit_request(prepared, conn)
        return self.parse_submit(conn, prepared.spec, response)

    def parse_submit(self, conn: Connection, spec: ModelSpec, response: httpx.Response) -> JobUpdate:
        if not response.is_success:
            raise fal_http_error(conn.provider.name, response, spec)
        body = json_body(conn.provider.name, response)
        if not isinstance(body, dict):
            raise ProtocolError(conn.provider.name, f"unexpected submit answer: {str(body)[:200]}", body)
        request_id = str(body.get("request_id") or "")
        if not request_id:
            raise ProtocolError(conn.provider.name, f"submit answered without a request_id: {str(body)[:200]}", body)
        # The job keeps request_id (what fal's webhooks name); the returned URLs must be where we will poll.
        expected = request_path(spec.model, request_id)
        got = returned_path(conn, body.get("response_url"))
        if body.get("response_url") and got != expected:
            raise ProtocolError(
                conn.provider.name,
                f"response_url {str(body.get('response_url'))[:200]!r} is not {expected!r} on the configured host",
                body,
            )
        raw = str(body.get("status") or "IN_QUEUE")
        return JobUpdate(status=JobStatus.queued, raw_status=raw, provider_task_id=request_id, raw=body)

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        path = request_path(spec.model, task_id)
        response = yield self.json_request("GET", conn, f"{path}/status?logs=1")
        update = self.parse_status(conn.provider.name, response)
        if update.status is not None or update.raw_status != "COMPLETED":
            return update
        result = yield self.json_request("GET", conn, path)
        return self.parse_result(conn.provider.name, result, update.raw)

    def parse_status(self, provider: str, response: httpx.Response) -> JobUpdate:
        if not response.is_success:
            raise fal_http_error(provider, response)
        body = json_body(provider, response)
        raw = str(body.get("status") or "") if isinstance(body, dict) else ""
        status = STATUS_MAP.get(raw.upper())
        update = JobUpdate(status=status, raw_status=raw or None, raw=body)
        if status is JobStatus.failed:
            update.error = failure(body)
        return update

    def parse_result(self, provider: str, response: httpx.Response, status_body: Any = None) -> JobUpdate:
        """The result fetch after ``COMPLETED``: the model output, or the error that ended the request."""
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if not response.is_success or (isinstance(body, dict) and ("error" in body or "detail" in body)):
            update = JobUpdate(status=JobStatus.failed, raw_status="COMPLETED", raw=body)
            update.error = failure(body, response)
            return update
        url = _video_url(body)
        update = JobUpdate(status=JobStatus.succeeded, raw_status="COMPLETED", raw=body, progress=100)
        if url is None:
            update.status = JobStatus.failed
            update.error = JobError(
                code=ErrorCode.provider_error,
                message="fal reported COMPLETED but the output has no video.url",
                retryable=True,
                raw=body,
            )
            return update
        video = body["video"] if isinstance(body.get("video"), dict) else {}
        update.assets = [Asset(kind="video", url=url, mime_type=str(video.get("content_type") or "video/mp4"))]
        return update

    def cancel(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("PUT", conn, f"{request_path(spec.model, task_id)}/cancel")
        if not response.is_success and response.status_code != 400:
            raise fal_http_error(conn.provider.name, response, spec)
        body = json_body(conn.provider.name, response)
        raw = str(body.get("status") or "") if isinstance(body, dict) else ""
        status = JobStatus.cancelled if raw in ("OK", "CANCELLATION_REQUESTED") else None
        return JobUpdate(status=status, raw_status=raw or None, raw=body)

    def wire_models(self, spec: ModelSpec) -> list[str]:
        return [spec.model]


def _video_url(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    video = body.get("video")
    if isinstance(video, dict) and isinstance(video.get("url"), str):
        return str(video["url"])
    videos = body.get("videos")
    if isinstance(videos, list) and videos and isinstance(videos[0], dict) and isinstance(videos[0].get("url"), str):
        return str(videos[0]["url"])
    return None


def failure(body: Any, response: httpx.Response | None = None) -> JobError:
    """Why a request failed: ``detail`` (string or list), ``error`` / ``error_type`` (newer docs)."""
    error_type = response.headers.get("x-fal-error-type") if response is not None else None
    message = ""
    if isinstance(body, dict):
        error_type = error_type or body.get("error_type")
        detail = body.get("detail")
        if isinstance(detail, list):
            message = "; ".join(
                f"{'.'.join(str(x) for x in d.get('loc', []))}: {d.get('msg')}" for d in detail if isinstance(d, dict)
            )
        elif detail:
            message = str(detail)
        message = message or str(body.get("error") or "")
    elif body:
        message = str(body)[:500]
    if error_type in RETRYABLE_ERROR_TYPES:
        return JobError(code=ErrorCode.provider_error, message=f"fal {error_type}: {message}", retryable=True, raw=body)
    if response is not None and response.status_code == 422:
        return JobError(code=ErrorCode.invalid_request, message=f"fal rejected the input: {message}", raw=body)
    if message:
        return classify_failure(f"fal: {message}", raw=body)
    return JobError(code=ErrorCode.provider_error, message="fal reported a failure without a reason", raw=body)


__all__ = [
    "Fal",
    "FalOptions",
    "ProviderHTTPError",
    "failure",
    "fal_http_error",
    "image_fields",
    "request_path",
    "returned_path",
]
