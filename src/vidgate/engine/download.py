"""Stream a result to disk with constant memory, resume with Range after a break, hash, sniff and probe it.

The decisions (which Range to ask for, what a 200/206/416/403 means, when to give up) live in
``Resumable``; ``download`` is a step generator (``vidgate.net.steps``), so both drivers run the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import secrets
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from vidgate.errors import DownloadError, TransportError
from vidgate.media import probe_video
from vidgate.net.steps import Flush, Steps, Write, open_stream, read_chunk, read_rest, sleep
from vidgate.providers._base import ChunkTransform, http_error, parse_retry_after
from vidgate.storage.base import ObjectWriter
from vidgate.types import Asset, VideoRequest

MAX_ATTEMPTS = 6
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
ByteProgress = Callable[[int, int | None], None]  # (bytes so far, total or None)

DURATION_TOLERANCE_S = 0.5
ASPECT_TOLERANCE = 0.03
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DownloadExpired(DownloadError):
    """The result URL no longer answers (403/404/410): fetch the job's status again for a fresh one."""


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


def sniff_image(head: bytes) -> str | None:
    """The image type from the first bytes (thumbnails, spritesheets), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    return None


Expect = Literal["video", "image"]


class Sink:
    """Writes chunks to ``<out>.<random>.part`` while hashing; ``finish`` renames it into place atomically.

    The part name is unique per download, so two processes (or threads) fetching the same file at once — a
    worker saving a preview while a gateway request asks for it — never write into or rename each other's part.

    Chunks are gathered into batches of about ``BATCH`` bytes (references, not copies); writing and hashing
    each batch run on a thread of their own (both release the GIL), behind the reading, with up to ``DEPTH``
    batches in flight. The reader only waits when that many are still being written: a finished batch is
    collected without a wake-up of the event loop. ``size`` counts the bytes handed over; a failure to write
    comes out of a later ``write``/``finish``.
    """

    BATCH = 1 << 20
    DEPTH = 4

    def __init__(self, out: Path, expect: Expect = "video") -> None:
        self.out = out
        self.expect = expect
        self.part = out.with_name(f"{out.name}.{secrets.token_hex(4)}.part")
        out.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.part.open("wb")
        self._sha = hashlib.sha256()
        self.size = 0
        self._head = b""
        self.mime: str | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidgate-download-write")
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidgate-download-hash")
        self._pending: deque[Future[Any]] = deque()
        self._batch: list[bytes] = []
        self._batched = 0

    def write(self, chunk: bytes) -> None:
        """Hand ``chunk`` over (blocks the caller while ``DEPTH`` batches are still being written)."""
        self._hand_over(chunk)
        while len(self._pending) > 2 * self.DEPTH:
            self._pending.popleft().result()

    async def awrite(self, chunk: bytes) -> None:
        """``write`` for event loops: waits without blocking the loop."""
        self._hand_over(chunk)
        pending = self._pending
        while pending and pending[0].done():
            pending.popleft().result()
        while len(pending) > 2 * self.DEPTH:
            await asyncio.wrap_future(pending[0])
            pending.popleft().result()

    async def aflush(self) -> None:
        """``wait`` for event loops."""
        self._submit()
        while self._pending:
            await asyncio.wrap_future(self._pending[0])
            self._pending.popleft().result()

    def wait(self) -> None:
        """Until every chunk handed over is written and hashed."""
        self._submit()
        while self._pending:
            self._pending.popleft().result()

    def _hand_over(self, chunk: bytes) -> None:
        if not chunk:
            return
        if len(self._head) < 64:
            self._head += chunk[: 64 - len(self._head)]
        self.size += len(chunk)
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= self.BATCH:
            self._submit()

    def _submit(self) -> None:
        if not self._batch:
            return
        batch, self._batch, self._batched = self._batch, [], 0
        self._pending.append(self._writer.submit(self._fh.writelines, batch))
        self._pending.append(self._hasher.submit(_hash_all, self._sha, batch))

    def _shutdown(self) -> None:
        self._writer.shutdown()
        self._hasher.shutdown()

    def restart(self) -> None:
        """The server sent the whole file again: start over."""
        self.wait()
        self._fh.seek(0)
        self._fh.truncate()
        self._sha = hashlib.sha256()
        self.size = 0
        self._head = b""

    def finish(self, expected_size: int | None) -> tuple[str, int]:
        self.wait()
        self._shutdown()
        self._fh.close()
        if expected_size is not None and self.size != expected_size:
            self.abort()
            raise DownloadError(f"download ended early: {self.size} of {expected_size} bytes")
        self.mime = sniff_video(self._head) if self.expect == "video" else sniff_image(self._head)
        if self.mime is None:
            self.abort()
            raise DownloadError(
                f"the result is not {'a video' if self.expect == 'video' else 'an image'} "
                f"(first bytes {self._head[:16]!r})"
            )
        os.replace(self.part, self.out)
        return self._sha.hexdigest(), self.size

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.wait()
        self._shutdown()
        with contextlib.suppress(Exception):
            self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            self.part.unlink()


Next = Literal["stream", "retry", "done"]


class Resumable:
    """One download across attempts: Range requests after a break, restarts, expiry, retry budget."""

    def __init__(self, sink: Sink | ObjectWriter, provider: str, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.sink = sink
        self.provider = provider
        self.max_attempts = max_attempts
        self.attempt = 0
        self.total: int | None = None
        self.validator: str | None = None  # ETag or Last-Modified, sent back as If-Range
        self.retry_after: float | None = None
        self.resumes = 0
        self.ranges = True  # False when the body is transformed (its offsets are not the file's)

    def request(self, base: httpx.Request) -> httpx.Request:
        self.attempt += 1
        headers = dict(base.headers)
        if self.sink.size and self.ranges:
            headers["Range"] = f"bytes={self.sink.size}-"
            if self.validator:
                headers["If-Range"] = self.validator
            self.resumes += 1
        return httpx.Request(base.method, base.url, headers=headers, content=base.content)

    def on_response(self, response: httpx.Response) -> Next:
        status = response.status_code
        self.retry_after = parse_retry_after(response.headers)
        if status == 200:
            if self.sink.size:
                self.sink.restart()
            self.total = _int(response.headers.get("content-length"))
            self.validator = response.headers.get("etag") or response.headers.get("last-modified")
            return "stream"
        if status == 206:
            m = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if m is None or int(m.group(1)) != self.sink.size:
                self.sink.restart()
                return self._again(f"unusable Content-Range {response.headers.get('content-range')!r}")
            if m.group(3) != "*":
                self.total = int(m.group(3))
            return "stream"
        if status == 416 and self.total is not None and self.sink.size == self.total:
            return "done"
        if status in (403, 404, 410):
            raise DownloadExpired(f"the result URL answered HTTP {status}: it has probably expired")
        if status == 429 or status >= 500:
            return self._again(f"HTTP {status}", http_error(self.provider, response))
        raise http_error(self.provider, response)

    def on_break(self, exc: Exception) -> Next:
        """The connection dropped mid-body: resume from what we have."""
        return self._again(f"{exc.__class__.__name__}: {exc}")

    def complete(self) -> bool:
        """After a stream ended cleanly: is the file whole? (A short body without an error is resumed.)"""
        return self.total is None or self.sink.size >= self.total

    def delay(self) -> float:
        base = BACKOFF_S[min(self.attempt - 1, len(BACKOFF_S) - 1)]
        return max(base, self.retry_after or 0.0)

    def _again(self, why: str, cause: Exception | None = None) -> Next:
        if self.attempt >= self.max_attempts:
            raise DownloadError(f"download failed after {self.attempt} attempts: {why}") from cause
        return "retry"


def _hash_all(sha: Any, chunks: list[bytes]) -> None:
    for chunk in chunks:
        sha.update(chunk)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _start_decoder(transform: Callable[[], ChunkTransform] | None, state: Resumable) -> ChunkTransform | None:
    """A fresh decoder for this attempt's body (the whole body again: no Range), or None for plain bodies."""
    if transform is None:
        return None
    state.total = None  # the body's length is not the file's
    if state.sink.size:
        state.sink.restart()
    return transform()


@dataclass(frozen=True)
class Downloaded:
    path: Path | None  # the local file; None when the bytes went into object storage (``location``)
    sha256: str
    size: int
    mime: str
    attempts: int = 1
    resumes: int = 0
    location: str | None = None  # where an object store keeps them (``s3://bucket/key``)

    @property
    def where(self) -> str:
        """What the job's record keeps as the asset's ``path``: the file, or the object's URL."""
        return self.location if self.location is not None else str(self.path)


def download(
    request: httpx.Request,
    out: Path | None,
    provider: str,
    on_bytes: ByteProgress | None = None,
    expect: Expect = "video",
    transform: Callable[[], ChunkTransform] | None = None,
    writer: ObjectWriter | None = None,
    location: str | None = None,
) -> Steps[Downloaded]:
    """Stream ``request``'s body into ``out``: resumed with Range after a break, retried with backoff, hashed,
    sniffed; the file appears (atomically) only when whole. With ``writer`` (result storage, see
    ``vidgate.storage``) the bytes go there instead and ``location`` says where they are kept."""
    sink: Sink | ObjectWriter
    if writer is not None:
        sink = writer
    elif out is not None:
        sink = Sink(out, expect)
    else:
        raise ValueError("download() needs a file to write (out) or a result storage writer")
    state = Resumable(sink, provider)
    state.ranges = transform is None
    try:
        while True:
            yield Flush(sink)  # the bytes on disk are the bytes counted before deciding how to go on
            try:
                response = yield from open_stream(state.request(request))
            except TransportError as exc:
                state.on_break(exc)
                yield from sleep(state.delay())
                continue
            step = yield from _attempt(response, state, on_bytes, transform)
            if step == "done":
                break
            yield from sleep(state.delay())
        yield Flush(sink)
        sha, size = sink.finish(state.total)
    except BaseException:
        sink.abort()
        raise
    path = None if writer is not None else out
    return Downloaded(path, sha, size, sink.mime or "video/mp4", state.attempt, state.resumes, location)


def _attempt(
    response: httpx.Response,
    state: Resumable,
    on_bytes: ByteProgress | None,
    transform: Callable[[], ChunkTransform] | None,
) -> Steps[Next]:
    """One response: its body streamed into the sink, or what to do instead (retry, done, an error)."""
    if response.status_code not in (200, 206):
        body = yield from read_rest()
        response = httpx.Response(response.status_code, headers=response.headers, content=body,
                                  request=response.request)  # fmt: skip
    step = state.on_response(response)
    if step != "stream":
        return step
    sink = state.sink
    decoder = _start_decoder(transform, state)
    try:
        while chunk := (yield from read_chunk()):
            yield Write(sink, decoder.feed(chunk) if decoder else chunk)
            if on_bytes:
                on_bytes(sink.size, state.total)
        if decoder:
            yield Write(sink, decoder.close())
    except TransportError as exc:
        return state.on_break(exc)
    return "done" if state.complete() else state.on_break(DownloadError("short body"))


def describe_asset(
    asset: Asset, got: Downloaded, request: VideoRequest | None, expected_duration: float | None, source: Any = None
) -> Asset:
    """The asset with its file facts and probe, plus every difference from what was asked. ``source``: a
    seekable file to probe instead of ``got.path`` (a stored object read by ranges)."""
    probe = probe_video(source if source is not None else got.path)
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
            "path": got.where,
            "sha256": got.sha256,
            "size_bytes": got.size,
            "mime_type": got.mime,
            "probe": probe,
            "mismatch": mismatch,
        }
    )
