"""Serving stored results: the video (and thumbnail / spritesheet) of a finished job, with Range support.

Results live in the gateway's result storage (``vidgate.storage``): files in its downloads directory, served
here, or objects in an S3-compatible store, answered with a redirect to a short-lived presigned URL (the
client fetches the bytes from the store, ``Range`` included; ``storage_serving = "proxy"`` streams them
through the gateway instead). A thumbnail or spritesheet the provider offers but that was not fetched yet is
downloaded on first ask. ``link()`` makes an expiring signed URL that needs no API key (the relay's
``data.output``): it answers exactly like ``/content``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from fastapi import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from vidgate.errors import DownloadError
from vidgate.server.errors import APIError
from vidgate.server.gateway import Gateway
from vidgate.storage import LocalStorage, ResultStorage
from vidgate.types import Asset, Job, JobStatus

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


async def serve(gw: Gateway, job: Job, variant: str, request: Request | None = None) -> Response:
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
    media = asset.mime_type or MEDIA[variant]
    if asset.removed_at is not None:
        raise APIError(
            410,
            f"The {variant} of '{job.id}' was removed from storage on {asset.removed_at.isoformat()} "
            "(retention, or a delete); create the video again to get a new one.",
            code="removed",
        )
    stored = _in_object_store(gw.storage, asset)
    if stored is not None:
        return await _from_object_store(gw, request, job, variant, stored, media)
    if asset.path is None or not Path(asset.path).is_file():
        raise APIError(
            404,
            f"The {variant} of '{job.id}' is not on this gateway's disk (it is kept at {asset.path}); replicas "
            'on several machines keep results in an object store (storage = "s3://bucket/prefix").',
            code="not_found",
        )
    ext = Path(asset.path).suffix or ".bin"
    return FileResponse(
        asset.path,
        media_type=media,
        filename=f"{job.id}{'' if variant == 'video' else '.' + variant}{ext}",
        content_disposition_type="inline",
    )


def _filename(job: Job, variant: str, key: str) -> str:
    ext = key[key.rfind(".") :] if "." in key else ".bin"
    return f"{job.id}{'' if variant == 'video' else '.' + variant}{ext}"


def _in_object_store(storage: ResultStorage, asset: Asset) -> str | None:
    """The key of an asset kept in this gateway's object store; None for files (and for other stores')."""
    if isinstance(storage, LocalStorage) or asset.path is None:
        return None
    return storage.key_of(asset.path)


async def _from_object_store(
    gw: Gateway, request: Request | None, job: Job, variant: str, key: str, media: str
) -> Response:
    storage, s = gw.storage, gw.config.server
    filename = _filename(job, variant, key)
    if s.storage_serving == "redirect":
        url = storage.presign(key, s.presign_ttl_s, filename=filename, content_type=media)
        if url is not None:  # the client fetches the bytes (and any Range of them) from the store itself
            return RedirectResponse(url, status_code=307, headers={"cache-control": "no-store"})
    found = await asyncio.to_thread(storage.stat, key)
    if found is None:
        raise APIError(404, f"The {variant} of '{job.id}' is missing from storage ({storage.location(key)}).",
                       code="not_found")  # fmt: skip
    size = found.size
    headers = {"accept-ranges": "bytes", "content-disposition": f'inline; filename="{filename}"'}
    wanted = request.headers.get("range") if request is not None else None
    span = _byte_range(wanted, size) if wanted else None
    if span == "bad":
        return Response(status_code=416, headers={"content-range": f"bytes */{size}"})
    start, end = span if isinstance(span, tuple) else (0, size - 1)
    if size == 0:
        return Response(b"", media_type=media, headers=headers)
    headers["content-length"] = str(end - start + 1)
    status = 200
    if isinstance(span, tuple):
        status, headers["content-range"] = 206, f"bytes {start}-{end}/{size}"
    body: Iterator[bytes] = storage.read(key, start, end)
    return StreamingResponse(body, status_code=status, media_type=media, headers=headers)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=a-b`` range as (start, end) inclusive; "bad" when unsatisfiable; None to send it all
    (several ranges, or a header we do not read: RFC 9110 lets a server ignore Range)."""
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):  # the last N bytes
        n = int(m.group(2))
        return "bad" if n == 0 else (max(0, size - n), size - 1)
    start = int(m.group(1))
    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if start >= size or end < start:
        return "bad"
    return start, end


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
