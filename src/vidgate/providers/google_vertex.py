"""Veo on Vertex AI / Gemini Enterprise Agent Platform: ``:predictLongRunning`` + ``:fetchPredictOperation``.

``POST {base}/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:predictLongRunning`` with
``Authorization: Bearer <access token>``; poll with ``POST ...{m}:fetchPredictOperation
{"operationName": ...}``; results in ``response.videos[]`` as ``gcsUri`` (downloaded through the Cloud
Storage JSON API with the same token) or ``bytesBase64Encoded`` (decoded while streaming a second
fetch of the operation). Facts: google-2026.md §1, core-providers.md §2.10.
"""

from __future__ import annotations

import mimetypes
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vidgate.catalog.schema import ModelSpec
from vidgate.catalog.validate import assign_roles
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
    inline_asset,
    inline_transform,
    job_error,
    lean_json,
    rai_filtered_error,
    split_inline,
)
from vidgate.providers._json_stream import is_elided, pointer
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus, VideoRequest

API_VERSION = "v1"  # the REST docs; the Python SDK sends v1beta1 (the emulator serves both)
STORAGE_BASE_SETTING = "storage_base_url"
DEFAULT_STORAGE_BASE = "https://storage.googleapis.com"


class VertexVeoOptions(BaseModel):
    """``parameters`` of a Veo request on Vertex (SDK ``GenerateVideosConfig`` -> wire names)."""

    model_config = ConfigDict(extra="forbid")

    generate_audio: bool | None = Field(None, description="parameters.generateAudio: native audio on/off")
    negative_prompt: str | None = Field(None, min_length=1, description="parameters.negativePrompt")
    person_generation: Literal["allow_adult", "dont_allow", "allow_all"] | None = Field(
        None, description="parameters.personGeneration"
    )
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="parameters.seed (uint32; not a guarantee)")
    sample_count: int | None = Field(None, ge=1, le=4, description="parameters.sampleCount: videos per request")
    storage_uri: str | None = Field(
        None, description="parameters.storageUri: gs://bucket/prefix for the results (else returned inline)"
    )
    enhance_prompt: bool | None = Field(None, description="parameters.enhancePrompt")

    @field_validator("storage_uri")
    @classmethod
    def _gcs(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith("gs://") and len(v) > 5):
            raise ValueError(f"storage_uri must be a gs://bucket/prefix URI, got {v!r}")
        return v


_OPTION_WIRE = {
    "generate_audio": "generateAudio",
    "negative_prompt": "negativePrompt",
    "person_generation": "personGeneration",
    "seed": "seed",
    "sample_count": "sampleCount",
    "storage_uri": "storageUri",
    "enhance_prompt": "enhancePrompt",
}


class _Video(BaseModel):
    model_config = ConfigDict(extra="allow")
    gcsUri: str | None = None
    bytesBase64Encoded: str | None = None
    mimeType: str | None = None


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")
    videos: list[_Video] | None = None
    raiMediaFilteredCount: int | None = None
    raiMediaFilteredReasons: list[str] | None = None


class Operation(BaseModel):
    """A google.longrunning.Operation as ``fetchPredictOperation`` returns it for Veo."""

    model_config = ConfigDict(extra="allow")
    name: str | None = None
    done: bool | None = None
    error: RpcStatus | None = None
    response: _Response | None = None


def gcs_image(img: LoadedImage) -> dict[str, Any]:
    """The Vertex ``Image``: ``bytesBase64Encoded`` or ``gcsUri``, with ``mimeType``."""
    if img.data is not None:
        return {"bytesBase64Encoded": img.as_base64(), "mimeType": img.mime_type}
    if img.url is not None and img.url.startswith("gs://"):
        return {"gcsUri": img.url, "mimeType": mimetypes.guess_type(img.url)[0] or "image/png"}
    raise ValueError(f"{img.description}: Veo takes images inline or as gs:// URIs")


def instance_images(prepared: Prepared, encode: Any = gcs_image) -> dict[str, Any]:
    out: dict[str, Any] = {}
    refs = []
    for role, img in zip(prepared.roles, prepared.images, strict=True):
        if role is ImageRole.first_frame:
            out["image"] = encode(img)
        elif role is ImageRole.last_frame:
            out["lastFrame"] = encode(img)
        else:
            refs.append({"image": encode(img), "referenceType": "asset"})
    if refs:
        out["referenceImages"] = refs
    return out


def veo_preflight(request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
    """Rules of Veo that span fields: references never mix with frames; reference-to-video is 16:9."""
    roles = assign_roles(images, spec) if len(images) == len(request.images) else []
    out: list[Problem] = []
    if ImageRole.reference in roles and any(r is not ImageRole.reference for r in roles):
        out.append(
            Problem(
                "images",
                "frames + references",
                f"{spec.key} cannot combine reference images with a first or last frame",
                allowed="reference images only, or first (+ last) frame only",
                suggestion="drop one kind",
            )
        )
    if ImageRole.reference in roles and request.aspect_ratio not in (None, "16:9"):
        out.append(
            Problem(
                "aspect_ratio",
                request.aspect_ratio,
                f"{spec.key} makes reference-image videos in 16:9 only",
                allowed="16:9",
            )
        )
    return out


class GoogleVertexVeo(Dialect):
    name = "google-vertex-veo"
    Options = VertexVeoOptions

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        return veo_preflight(request, spec, images)

    # -------------------------------------------------------------- addresses

    def model_path(self, spec_model: str, conn: Connection) -> str:
        project = conn.settings.get("project", "")
        location = conn.settings.get("location", "")
        return (
            f"/{API_VERSION}/projects/{quote(project, safe='')}/locations/{quote(location, safe='')}"
            f"/publishers/google/models/{quote(spec_model, safe='')}"
        )

    def url(self, conn: Connection, path: str) -> str:
        """``conn.url`` with the global endpoint's host fixed (``location=global`` has no region prefix)."""
        full = conn.url(path)
        parts = urlsplit(full)
        if parts.hostname == "global-aiplatform.googleapis.com":
            return urlunsplit(parts._replace(netloc="aiplatform.googleapis.com"))
        return full

    def request(self, conn: Connection, path: str, body: Any) -> httpx.Request:
        template = self.json_request("POST", conn, path, body)
        return httpx.Request("POST", self.url(conn, path), headers=template.headers, content=template.content)

    # -------------------------------------------------------------- create

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req = prepared.request
        instance: dict[str, Any] = {"prompt": req.prompt}
        instance.update(instance_images(prepared))
        params: dict[str, Any] = {}
        if req.duration is not None:
            params["durationSeconds"] = prepared.spec.duration.encode(req.duration)
        if req.aspect_ratio is not None:
            params["aspectRatio"] = req.aspect_ratio
        if req.resolution is not None:
            params["resolution"] = req.resolution
        opts = VertexVeoOptions.model_validate(req.options)
        for key, value in opts.model_dump(exclude_none=True).items():
            params[_OPTION_WIRE[key]] = value
        return {"instances": [instance], "parameters": params}

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        path = self.model_path(prepared.spec.model, conn) + ":predictLongRunning"
        response = yield self.request(conn, path, self.create_body(prepared))
        provider = conn.provider.name
        raise_for_status(provider, response)
        body = lean_json(provider, response)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or "/operations/" not in name:
            raise ProtocolError(provider, f"predictLongRunning answered without an operation name: {body!r:.200}", body)
        return JobUpdate(status=JobStatus.queued, raw_status="submitted", provider_task_id=name, raw=body)

    # -------------------------------------------------------------- status

    def fetch_request(self, operation_name: str, conn: Connection) -> httpx.Request:
        model_resource = operation_name.split("/operations/")[0]
        return self.request(
            conn, f"/{API_VERSION}/{model_resource}:fetchPredictOperation", {"operationName": operation_name}
        )

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.fetch_request(task_id, conn)
        return self.parse_operation(conn, response, task_id)

    def parse_operation(self, conn: Connection, response: httpx.Response, task_id: str) -> JobUpdate:
        provider = conn.provider.name
        raise_for_status(provider, response)
        body = lean_json(provider, response)
        op = read_shape(provider, Operation, body, "operation")
        if not op.done:
            return JobUpdate(status=JobStatus.running, raw_status="running", raw=body)
        update = JobUpdate(status=JobStatus.succeeded, raw_status="done", raw=body, progress=100)
        if op.error is not None:
            update.status = JobStatus.failed
            update.raw_status = "done+error"
            update.error = job_error(op.error.code, op.error.message, body)
            return update
        result = op.response or _Response()
        resource = self.url(conn, f"/{API_VERSION}/{op.name or task_id}")
        assets = []
        for k, video in enumerate(result.videos or []):
            if video.gcsUri:
                assets.append(Asset(kind="video", url=video.gcsUri, mime_type=video.mimeType or "video/mp4"))
            elif video.bytesBase64Encoded and (is_elided(video.bytesBase64Encoded) or video.bytesBase64Encoded):
                ptr = pointer("response", "videos", k, "bytesBase64Encoded")
                assets.append(inline_asset(resource, ptr, video.mimeType))
        update.assets = assets
        if not assets:
            update.status = JobStatus.failed
            if result.raiMediaFilteredCount or result.raiMediaFilteredReasons:
                update.raw_status = "done+filtered"
                update.error = rai_filtered_error(result.raiMediaFilteredCount, result.raiMediaFilteredReasons, body)
            else:
                update.error = JobError(
                    code=ErrorCode.provider_error,
                    message="the operation finished without videos, an error or a filter reason",
                    retryable=True,
                    raw=body,
                )
        return update

    # -------------------------------------------------------------- download

    def download_request(self, asset: Asset, conn: Connection) -> httpx.Request:
        inline = split_inline(asset)
        auth = self.auth_headers(conn)
        if inline is not None:
            path = urlsplit(inline[0]).path
            operation = path.split(f"/{API_VERSION}/", 1)[-1]
            return self.fetch_request(operation, conn)
        if asset.url is None:
            raise ValueError("asset has no URL")
        if asset.url.startswith("gs://"):
            bucket, _, obj = asset.url[5:].partition("/")
            base = conn.settings.get(STORAGE_BASE_SETTING) or DEFAULT_STORAGE_BASE
            url = f"{base.rstrip('/')}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(obj, safe='')}?alt=media"
            return httpx.Request("GET", url, headers=auth)
        return httpx.Request("GET", asset.url)

    def download_transform(self, asset: Asset) -> ChunkTransform | None:
        return inline_transform(asset)
