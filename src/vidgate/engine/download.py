"""Stream a result to disk with constant memory, hash it, sniff it, and probe what it really is."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from vidgate.errors import DownloadError
from vidgate.media import probe_video
from vidgate.providers._base import http_error
from vidgate.types import Asset, VideoRequest

CHUNK = 1 << 16
ByteProgress = Callable[[int, int | None], None]  # (bytes so far, total or None)

DURATION_TOLERANCE_S = 0.5
ASPECT_TOLERANCE = 0.03


def sniff_video(head: bytes) -> str | None:
    """The container type from the first bytes, or None when it is not a video we know."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    return None


class Sink:
    """Writes chunks to ``<out>.part`` while hashing; ``finish`` renames it into place atomically."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.part = out.with_name(out.name + ".part")
        out.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.part.open("wb")
        self._sha = hashlib.sha256()
        self.size = 0
        self._head = b""
        self.mime: str | None = None

    def write(self, chunk: bytes) -> None:
        if len(self._head) < 64:
            self._head += chunk[: 64 - len(self._head)]
        self._fh.write(chunk)
        self._sha.update(chunk)
        self.size += len(chunk)

    def finish(self, expected_size: int | None) -> tuple[str, int]:
        self._fh.close()
        if expected_size is not None and self.size != expected_size:
            self.abort()
            raise DownloadError(f"download ended early: {self.size} of {expected_size} bytes")
        self.mime = sniff_video(self._head)
        if self.mime is None:
            self.abort()
            raise DownloadError(f"the result is not a video (first bytes {self._head[:16]!r})")
        os.replace(self.part, self.out)
        return self._sha.hexdigest(), self.size

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            self.part.unlink()


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha256: str
    size: int
    mime: str


def _total(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    return int(value) if value and value.isdigit() else None


def download_sync(
    client: httpx.Client,
    request: httpx.Request,
    out: Path,
    provider: str,
    on_bytes: ByteProgress | None = None,
) -> Downloaded:
    sink = Sink(out)
    try:
        response = client.send(request, stream=True)
        try:
            if not response.is_success:
                response.read()
                raise http_error(provider, response)
            total = _total(response)
            for chunk in response.iter_bytes(CHUNK):
                sink.write(chunk)
                if on_bytes:
                    on_bytes(sink.size, total)
        finally:
            response.close()
        sha, size = sink.finish(total)
    except httpx.TransportError as exc:
        sink.abort()
        raise DownloadError(f"download from {request.url.host} failed: {exc.__class__.__name__}: {exc}") from exc
    except BaseException:
        sink.abort()
        raise
    return Downloaded(out, sha, size, sink.mime or "video/mp4")


async def download_async(
    client: httpx.AsyncClient,
    request: httpx.Request,
    out: Path,
    provider: str,
    on_bytes: ByteProgress | None = None,
) -> Downloaded:
    sink = Sink(out)
    try:
        response = await client.send(request, stream=True)
        try:
            if not response.is_success:
                await response.aread()
                raise http_error(provider, response)
            total = _total(response)
            async for chunk in response.aiter_bytes(CHUNK):
                sink.write(chunk)
                if on_bytes:
                    on_bytes(sink.size, total)
        finally:
            await response.aclose()
        sha, size = sink.finish(total)
    except httpx.TransportError as exc:
        sink.abort()
        raise DownloadError(f"download from {request.url.host} failed: {exc.__class__.__name__}: {exc}") from exc
    except BaseException:
        sink.abort()
        raise
    return Downloaded(out, sha, size, sink.mime or "video/mp4")


def describe_asset(
    asset: Asset, got: Downloaded, request: VideoRequest | None, expected_duration: float | None
) -> Asset:
    """The asset with its file facts and probe, plus every difference from what was asked."""
    probe = probe_video(got.path)
    mismatch: list[str] = []
    if expected_duration is not None and abs(probe.duration - expected_duration) > DURATION_TOLERANCE_S:
        mismatch.append(f"duration: asked {expected_duration:g} s, got {probe.duration:g} s")
    if request is not None and request.aspect_ratio and probe.height:
        a, _, b = request.aspect_ratio.partition(":")
        try:
            asked = float(a) / float(b)
        except (ValueError, ZeroDivisionError):
            asked = None
        got_ratio = probe.width / probe.height
        if asked and abs(got_ratio - asked) / asked > ASPECT_TOLERANCE:
            mismatch.append(
                f"aspect ratio: asked {request.aspect_ratio}, got {probe.width}x{probe.height} ({got_ratio:.3f})"
            )
    return asset.model_copy(
        update={
            "path": str(got.path),
            "sha256": got.sha256,
            "size_bytes": got.size,
            "mime_type": got.mime,
            "probe": probe,
            "mismatch": mismatch,
        }
    )
