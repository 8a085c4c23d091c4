"""Replicate's predictions API: ``POST /v1/models/{owner}/{name}/predictions`` (official models) or
``POST /v1/predictions`` with ``version`` (a catalog ``model`` id holding a ``:<hash>``), polled with
``GET /v1/predictions/{id}``, cancelled with ``POST /v1/predictions/{id}/cancel``.

The create carries ``Prefer: wait=N`` (a short hold, so a fast model answers in the create itself) and a
``Cancel-After`` deadline (the job becomes ``aborted`` if it never started, ``canceled`` if it ran over).
Output files are deleted one hour after the prediction (data-retention docs): every asset gets
``expires_at`` so the engine downloads at once. Source: shared/reference/providers-2026.md §3.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import ProtocolError, ProviderHTTPError, QuotaExceededError
from vidgate.media import encode_for_json
from vidgate.providers._base import Connection, Dialect, Flow, JobUpdate, Prepared, http_error, json_body, read_shape
from vidgate.providers._failure_text import classify_failure
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus

PREFER_WAIT_S = 5  # Prefer: wait=N, N in 1..60 [MEMORY]; short so a slow model's create returns quickly
OUTPUT_LIFETIME = timedelta(hours=1)  # API-created predictions: files deleted after 1 hour [OFFICIAL]

# Every documented status, explicitly. Anything else: None = keep polling until the deadline.
STATUS_MAP: dict[str, JobStatus | None] = {
    "starting": JobStatus.queued,
    "processing": JobStatus.running,
    "succeeded": JobStatus.succeeded,
    "failed": JobStatus.failed,
    "canceled": JobStatus.cancelled,
    "aborted": JobStatus.cancelled,  # Cancel-After passed before the run started (not charged)
}

# Catalog fields are body paths (``input.<name>``). The field for a last frame / reference images, by the
# model's first-frame field (catalog images.field).
LAST_FRAME_FIELD = {"image": "last_frame", "start_image": "end_image", "first_frame_image": "last_frame_image"}
REFERENCE_FIELD = {"image": "reference_images"}


class ReplicateOptions(BaseModel):
    """Extra input fields of Replicate video models (which ones a model takes is in the catalog)."""

    model_config = ConfigDict(extra="forbid")

    negative_prompt: str | None = Field(None, description="What to avoid")
    generate_audio: bool | None = Field(None, description="Veo 3.1: generate audio")
    seed: int | None = Field(None, description="Random seed")
    webhook: str | None = Field(None, description="HTTPS URL Replicate POSTs the prediction to")
    webhook_events_filter: list[str] | None = Field(None, description="start, output, logs, completed")


class Prediction(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    model: str | None = None
    version: str | None = None
    status: str | None = None
    output: Any = None
    error: Any = None
    logs: str | None = None
    data_removed: bool | None = None
    created_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    metrics: dict[str, Any] | None = None


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _leaf(field: str | None) -> str:
    """The input field a catalog path names: ``input.duration`` -> ``duration``."""
    return (field or "").removeprefix("input.")


def replicate_http_error(provider: str, response: httpx.Response) -> ProviderHTTPError:
    """Typed errors from ``{"detail": ...}`` (problem+json ``title``/``status`` too); 402 = out of credit."""
    base = http_error(provider, response)
    if response.status_code == 402:
        return QuotaExceededError(
            provider,
            402,
            base.message,
            code=base.code,
            request_id=base.request_id,
            retry_after=base.retry_after,
            body=base.body,
            error_code=ErrorCode.quota_exceeded.value,
        )
    return base


def cancel_after(deadline_s: float) -> str:
    """The ``Cancel-After`` value for a deadline: whole minutes (``"60m"``), as the docs' ``1m`` example."""
    return f"{max(1, math.ceil(deadline_s / 60))}m"


def create_path(spec: ModelSpec) -> tuple[str, str | None]:
    """``(path, version)``: official models by name; ``owner/name:<hash>`` through ``/v1/predictions``."""
    if ":" in spec.model:
        return "v1/predictions", spec.model
    owner, _, name = spec.model.partition("/")
    return f"v1/models/{quote(owner, safe='')}/{quote(name, safe='')}/predictions", None


class Replicate(Dialect):
    name = "replicate"
    Options = ReplicateOptions
    operations = frozenset({"cancel"})
    signed_callback = "replicate"  # webhook, Standard-Webhooks-signed prediction objects

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        inputs: dict[str, Any] = {}
        if req.prompt.strip():
            inputs["prompt"] = req.prompt
        first_field = _leaf(spec.images.field) or "image"
        refs: list[Any] = []
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            encoded = encode_for_json(img, spec.images)
            if role is ImageRole.last_frame:
                inputs[LAST_FRAME_FIELD.get(first_field, "last_frame")] = encoded
            elif role is ImageRole.reference:
                refs.append(encoded)
            else:
                inputs[first_field] = encoded
        if refs:
            inputs[REFERENCE_FIELD.get(first_field, "reference_images")] = refs
        if req.duration is not None and spec.duration.field:
            inputs[_leaf(spec.duration.field)] = spec.duration.encode(req.duration)
        if req.aspect_ratio is not None and spec.aspect_ratio.field:
            inputs[_leaf(spec.aspect_ratio.field)] = req.aspect_ratio
        if req.resolution is not None and spec.resolution.field:
            inputs[_leaf(spec.resolution.field)] = req.resolution
        opts = ReplicateOptions.model_validate(req.options).model_dump(exclude_none=True)
        body: dict[str, Any] = {}
        _, version = create_path(spec)
        if version:
            body["version"] = version
        for key in ("webhook", "webhook_events_filter"):
            if key in opts:
                body[key] = opts.pop(key)
        if "webhook" not in body and req.webhook_url:
            # vidgate's own receiver: only the final state matters (it wakes a status check), one POST per job
            body["webhook"], body["webhook_events_filter"] = req.webhook_url, ["completed"]
        inputs.update(opts)
        body["input"] = inputs
        return body

    def create_request(self, prepared: Prepared, conn: Connection) -> httpx.Request:
        path, _ = create_path(prepared.spec)
        request = self.json_request("POST", conn, path, self.create_body(prepared))
        request.headers["Prefer"] = f"wait={PREFER_WAIT_S}"
        request.headers["Cancel-After"] = cancel_after(prepared.spec.deadline_s)
        return request

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.create_request(prepared, conn)
        return self.parse(conn.provider.name, response)

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, f"v1/predictions/{quote(task_id, safe='')}")

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.status_request(task_id, conn)
        return self.parse(conn.provider.name, response)

    def cancel(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("POST", conn, f"v1/predictions/{quote(task_id, safe='')}/cancel")
        return self.parse(conn.provider.name, response)

    def parse(self, provider: str, response: httpx.Response) -> JobUpdate:
        """A create, poll, cancel answer or a webhook body (the bare prediction object) -> update."""
        if not response.is_success:
            raise replicate_http_error(provider, response)
        return parse_prediction(provider, json_body(provider, response))


def parse_prediction(provider: str, body: Any) -> JobUpdate:
    pred = read_shape(provider, Prediction, body, "prediction")
    if not pred.id:
        raise ProtocolError(provider, f"prediction without an id: {str(body)[:200]}", body)
    raw_status = (pred.status or "").strip()
    status = STATUS_MAP.get(raw_status.lower())
    update = JobUpdate(
        status=status,
        raw_status=raw_status or None,
        provider_task_id=pred.id,
        started_at=_time(pred.started_at),
        finished_at=_time(pred.completed_at),
        raw=body,
    )
    if status is JobStatus.succeeded:
        urls = [pred.output] if isinstance(pred.output, str) else pred.output if isinstance(pred.output, list) else []
        urls = [u for u in urls if isinstance(u, str) and u]
        done = update.finished_at or datetime.now(UTC)
        update.assets = [
            Asset(kind="video", url=u, mime_type="video/mp4", expires_at=done + OUTPUT_LIFETIME) for u in urls
        ]
        update.progress = 100
        if not urls:
            update.status = JobStatus.failed
            removed = " (data_removed: the files are deleted after 1 hour)" if pred.data_removed else ""
            update.error = JobError(
                code=ErrorCode.provider_error,
                message=f"Replicate reported succeeded but output has no URL{removed}",
                retryable=not pred.data_removed,
                raw=body,
            )
    elif status is JobStatus.failed:
        text = str(pred.error or "Replicate reported failed without an error")
        update.error = classify_failure(text, raw=body)
    elif status is JobStatus.cancelled:
        why = "Cancel-After passed before the run started" if raw_status == "aborted" else "the prediction was canceled"
        update.error = JobError(code=ErrorCode.cancelled, message=why, retryable=raw_status == "aborted", raw=body)
    return update
