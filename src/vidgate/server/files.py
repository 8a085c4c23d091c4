"""Serving stored results: the video (and thumbnail / spritesheet) of a finished job, with Range support.

Files live in the gateway's downloads directory (a shared volume when replicas run on several machines).
A thumbnail or spritesheet the provider offers but that was not fetched yet is downloaded on first ask.
``link()`` makes an expiring signed URL that needs no API key (the relay's ``data.output``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import Request
from starlette.responses import FileResponse

from vidgate.errors import DownloadError
from vidgate.server.errors import APIError
from vidgate.server.gateway import Gateway
from vidgate.types import Job, JobStatus

VARIANTS = ("video", "thumbnail", "spritesheet")
FILE_PATH = "/v1/files/{job_id}/{variant}"  # the signed_file route (routes_ops)
MEDIA = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise APIError(
            400,
            f"Invalid value: '{variant}'. Supported values are: 'video', 'thumbnail' and 'spritesheet'.",
            param="variant",
            code="invalid_value",
        )
    return variant


async def serve(gw: Gateway, job: Job, variant: str) -> FileResponse:
    check_variant(variant)
    if job.status is not JobStatus.succeeded or not job.done:
        state = "still being made" if not job.status.terminal or job.status is JobStatus.succeeded else "not finished"
        raise APIError(
            404,
            f"Video '{job.id}' has no content yet: it is {state} ({job.status.value}).",
            param="video_id",
            code="not_ready" if not job.status.terminal else "not_found",
        )
    kinds = [variant] if variant != "thumbnail" else ["thumbnail", "cover"]
    asset = next((a for a in job.assets if a.kind in kinds), None)
    if asset is None:
        raise APIError(
            404,
            f"Video '{job.id}' has no {variant}: its provider ({job.provider}) does not make one.",
            param="variant",
            code="not_found",
        )
    if asset.path is None:
        try:
            job = await gw.client.download(job, None, variant=asset.kind)
        except DownloadError as exc:
            raise APIError(
                404, f"The {variant} of '{job.id}' could not be fetched: {exc}", param="variant", code="not_found"
            ) from None
        asset = next((a for a in job.assets if a.kind == asset.kind), asset)
    if asset.path is None or not Path(asset.path).is_file():
        raise APIError(
            404,
            f"The {variant} of '{job.id}' is not on this gateway's disk (replicas on several "
            "machines need a shared downloads_dir).",
            code="not_found",
        )
    media = asset.mime_type or MEDIA[variant]
    ext = Path(asset.path).suffix or ".bin"
    return FileResponse(
        asset.path,
        media_type=media,
        filename=f"{job.id}{'' if variant == 'video' else '.' + variant}{ext}",
        content_disposition_type="inline",
    )


def link(gw: Gateway, request: Request, job: Job, variant: str = "video") -> str:
    return _signed(gw, _base(gw, request), job.id, variant)


def links(gw: Gateway, request: Request, job: Job) -> dict[str, str]:
    if job.status is not JobStatus.succeeded or not job.done:
        return {}
    kinds = {a.kind for a in job.assets}
    base = _base(gw, request)
    out = {"video": _signed(gw, base, job.id, "video")}
    if kinds & {"thumbnail", "cover"}:
        out["thumbnail"] = _signed(gw, base, job.id, "thumbnail")
    if "spritesheet" in kinds:
        out["spritesheet"] = _signed(gw, base, job.id, "spritesheet")
    return out


def _base(gw: Gateway, request: Request) -> str:
    """This gateway's URL for links, never taken from an unchecked ``Host`` header (anyone can send one): the
    configured ``public_url``; else the ``Host`` when it is one of ``trusted_hosts``; else the address the
    request really arrived at."""
    s = gw.config.server
    if s.public_url:
        return s.public_url.rstrip("/")
    scope = request.scope
    server = scope.get("server")
    root_path = scope.get("app_root_path", scope.get("root_path", ""))
    host = request.headers.get("host")
    if host is not None and host.lower() not in s.trusted_hosts:
        host = None  # (then the socket's own address: scope["server"])
    return _base_of(scope.get("scheme", "http"), host, server and tuple(server), root_path)


@lru_cache(maxsize=256)
def _base_of(scheme: str, host: str | None, server: tuple[str, int] | None, root_path: str) -> str:
    """``request.base_url`` for these parts (a pure function of them), computed once rather than per video object:
    Starlette copies the whole scope and parses a URL for it."""
    headers = [] if host is None else [(b"host", host.encode("latin-1"))]
    scope = {"type": "http", "scheme": scheme, "server": server, "path": "/", "root_path": root_path}
    return str(Request({**scope, "query_string": b"", "headers": headers}).base_url).rstrip("/")


def _signed(gw: Gateway, base: str, job_id: str, variant: str) -> str:
    # FILE_PATH filled in directly: what request.url_for("signed_file") makes, without trying every route
    path = FILE_PATH.format(job_id=job_id, variant=variant)
    return f"{base}{path}?{gw.signer.file_query(job_id, variant, gw.config.server.file_link_ttl_s)}"
