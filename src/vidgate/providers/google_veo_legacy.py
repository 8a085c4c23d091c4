"""The legacy Gemini API Veo protocol: ``POST /v1beta/models/{m}:predictLongRunning`` + ``GET /v1beta/{op}``.

Google stopped serving Veo on the Gemini API (2.0/3.0 on 2026-06-30, the 3.1 previews on 2026-10-22); relays and
older deployments still speak this. Wire shape as google-genai 2.34.0 serialized it (the last SDK that sends
it; captured in google-2026.md §4): images as ``{"bytesBase64Encoded", "mimeType"}``, ``durationSeconds`` as a
JSON number, results at ``response.generateVideoResponse.generatedSamples[].video.uri`` (download with the key).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import ProtocolError
from vidgate.media import LoadedImage
from vidgate.problems import Problem
from vidgate.providers._base import (
    ChunkTransform,
    Connection,
    Dialect,
    Flow,
    JobUpdate,
    Prepared,
    raise_for_status,
    read_shape,
)
from vidgate.providers._google import (
    RpcStatus,
    files_download_url,
    inline_asset,
    inline_transform,
    job_error,
    keyed_get,
    lean_json,
    rai_filtered_error,
    split_inline,
)
from vidgate.providers._json_stream import is_elided, pointer
from vidgate.providers.google_vertex import instance_images, veo_preflight
from vidgate.types import Asset, ErrorCode, JobError, JobStatus, VideoRequest

API_VERSION = "v1beta"


class LegacyVeoOptions(BaseModel):
    """``parameters`` the Gemini API accepted (SDK 2.34.0 ``_GenerateVideosConfig_to_mldev``)."""

    model_config = ConfigDict(extra="forbid")

    negative_prompt: str | None = Field(None, min_length=1, description="parameters.negativePrompt")
    person_generation: Literal["allow_all", "allow_adult", "dont_allow"] | None = Field(
        None, description="parameters.personGeneration"
    )
    sample_count: int | None = Field(None, ge=1, le=2, description="parameters.sampleCount (Veo 3.x: 1; Veo 2: 1-2)")
    enhance_prompt: bool | None = Field(None, description="parameters.enhancePrompt")
    webhook_metadata: dict[str, Any] | None = Field(None, description="webhookConfig.user_metadata (with webhook_url)")


_OPTION_WIRE = {
    "sample_count": "sampleCount",
    "negative_prompt": "negativePrompt",
    "person_generation": "personGeneration",
    "enhance_prompt": "enhancePrompt",
}


def legacy_image(img: LoadedImage) -> dict[str, Any]:
    if img.data is None:
        raise ValueError(f"{img.description}: the Gemini API takes images inline only")
    return {"bytesBase64Encoded": img.as_base64(), "mimeType": img.mime_type}


class _Video(BaseModel):
    model_config = ConfigDict(extra="allow")
    uri: str | None = None
    encodedVideo: str | None = None
    encoding: str | None = None


class _Sample(BaseModel):
    model_config = ConfigDict(extra="allow")
    video: _Video | None = None


class _GenerateVideoResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    generatedSamples: list[_Sample] | None = None
    raiMediaFilteredCount: int | None = None
    raiMediaFilteredReasons: list[str] | None = None


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")
    generateVideoResponse: _GenerateVideoResponse | None = None


class LegacyOperation(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None
    done: bool | None = None
    error: RpcStatus | None = None
    response: _Response | None = None


class GoogleVeoLegacy(Dialect):
    name = "google-veo-legacy"
    Options = LegacyVeoOptions

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        out = veo_preflight(request, spec, images)
        if request.options.get("webhook_metadata") and not request.webhook_url:
            out.append(Problem("options.webhook_metadata", "set", "needs webhook_url", suggestion="pass webhook_url"))
        return out

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req = prepared.request
        opts = LegacyVeoOptions.model_validate(req.options)
        instance: dict[str, Any] = {"prompt": req.prompt}
        instance.update(instance_images(prepared, legacy_image))
        params: dict[str, Any] = {}
        if opts.sample_count is not None:
            params["sampleCount"] = opts.sample_count
        if req.duration is not None:
            params["durationSeconds"] = prepared.spec.duration.encode(req.duration)
        if req.aspect_ratio is not None:
            params["aspectRatio"] = req.aspect_ratio
        if req.resolution is not None:
            params["resolution"] = req.resolution
        for key in ("person_generation", "negative_prompt", "enhance_prompt"):
            value = getattr(opts, key)
            if value is not None:
                params[_OPTION_WIRE[key]] = value
        body: dict[str, Any] = {"instances": [instance], "parameters": params}
        if req.webhook_url:
            hook: dict[str, Any] = {"uris": [req.webhook_url]}
            if opts.webhook_metadata:
                hook["user_metadata"] = opts.webhook_metadata
            body["webhookConfig"] = hook
        return body

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        path = f"/{API_VERSION}/models/{quote(prepared.spec.model, safe='')}:predictLongRunning"
        response = yield self.json_request("POST", conn, path, self.create_body(prepared))
        provider = conn.provider.name
        raise_for_status(provider, response)
        body = lean_json(provider, response)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            raise ProtocolError(provider, f"predictLongRunning answered without an operation name: {body!r:.200}", body)
        return JobUpdate(status=JobStatus.queued, raw_status="submitted", provider_task_id=name, raw=body)

    def operation_path(self, name: str) -> str:
        return f"/{API_VERSION}/" + "/".join(quote(part, safe="") for part in name.split("/"))

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("GET", conn, self.operation_path(task_id))
        return self.parse_operation(conn, response, task_id)

    def parse_operation(self, conn: Connection, response: httpx.Response, task_id: str) -> JobUpdate:
        provider = conn.provider.name
        raise_for_status(provider, response)
        body = lean_json(provider, response)
        op = read_shape(provider, LegacyOperation, body, "operation")
        if not op.done:
            return JobUpdate(status=JobStatus.running, raw_status="running", raw=body)
        update = JobUpdate(status=JobStatus.succeeded, raw_status="done", raw=body, progress=100)
        if op.error is not None:
            update.status, update.raw_status = JobStatus.failed, "done+error"
            update.error = job_error(op.error.code, op.error.message, body)
            return update
        result = (op.response or _Response()).generateVideoResponse or _GenerateVideoResponse()
        resource = conn.url(self.operation_path(op.name or task_id))
        assets: list[Asset] = []
        for k, sample in enumerate(result.generatedSamples or []):
            video = sample.video
            if video is None:
                continue
            if video.uri:
                assets.append(Asset(kind="video", url=video.uri, mime_type=video.encoding or "video/mp4"))
            elif video.encodedVideo and (is_elided(video.encodedVideo) or video.encodedVideo):
                ptr = pointer("response", "generateVideoResponse", "generatedSamples", k, "video", "encodedVideo")
                assets.append(inline_asset(resource, ptr, video.encoding))
        update.assets = assets
        if not assets:
            update.status = JobStatus.failed
            if result.raiMediaFilteredCount or result.raiMediaFilteredReasons:
                update.raw_status = "done+filtered"
                update.error = rai_filtered_error(result.raiMediaFilteredCount, result.raiMediaFilteredReasons, body)
            else:
                update.error = JobError(
                    code=ErrorCode.provider_error,
                    message="the operation finished without generatedSamples, an error or a filter reason",
                    retryable=True,
                    raw=body,
                )
        return update

    def download_request(self, asset: Asset, conn: Connection) -> httpx.Request:
        inline = split_inline(asset)
        if inline is not None:
            return keyed_get(inline[0], conn)
        if asset.url is None:
            raise ValueError("asset has no URL")
        return keyed_get(files_download_url(asset.url), conn)

    def download_transform(self, asset: Asset) -> ChunkTransform | None:
        return inline_transform(asset)
