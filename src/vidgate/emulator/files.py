"""The videos the emulator serves: one deterministic, distinct file per job, streamed with Range support.

Layout of a job's file::

    [ real H.264 MP4 from render.py ][ top-level 'free' box: b"vidgate-emulator task_id=... " + zero padding ]

The MP4 depends only on the job's shape (``job_shape``: duration, frame size, frame rate, audio and the prompt's
first words, so renders are shared and cached); the trailing ``free``
box carries the job's identity, which makes every job's bytes — and sha256 — distinct at no encoding cost.
MP4 readers skip ``free`` boxes, so the file stays valid. ``FaultPlan.video_size`` pads the box with zeros
up to any size (a 64-bit box size beyond 4 GiB): a 1 GiB file is streamed in 1 MiB chunks and never held
in memory, and any byte range of it can be produced directly.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from vidgate.emulator.render import (
    SMALL_FPS,
    OutputVideo,
    first_words,
    output_size,
    render_mp4,
    render_thumbnail,
    small_size,
)
from vidgate.emulator.state import EmuJob, EmulatorState

CHUNK = 1 << 20
_ZEROS = bytes(CHUNK)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class VideoFile:
    """``head`` (held in memory) followed by ``size - len(head)`` zero bytes (produced on demand)."""

    head: bytes
    size: int

    @classmethod
    def raw(cls, data: bytes) -> VideoFile:
        return cls(data, len(data))

    @classmethod
    def build(cls, mp4: bytes, tag: bytes, size: int | None = None) -> VideoFile:
        """``mp4`` then a ``free`` box holding ``tag``, zero-padded so the file is ``size`` bytes if given."""
        box = 8 + len(tag)
        if size is not None and size - len(mp4) > box:
            box = size - len(mp4)
        # beyond 4 GiB a box declares size 1 and carries its 64-bit size after the type
        header = struct.pack(">I4sQ", 1, b"free", box) if box >= 2**32 else struct.pack(">I4s", box, b"free")
        return cls(mp4 + header + tag, len(mp4) + box)

    def iter_range(self, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``stop - 1`` in chunks of at most 1 MiB."""

        async def chunks() -> AsyncIterator[bytes]:
            pos = start
            while pos < stop:
                if pos < len(self.head):
                    end = min(stop, len(self.head), pos + CHUNK)
                    yield self.head[pos:end]
                else:
                    end = min(stop, pos + CHUNK)
                    yield _ZEROS if end - pos == CHUNK else _ZEROS[: end - pos]
                pos = end

        return chunks()

    def sha256(self) -> str:
        digest = hashlib.sha256(self.head)
        left = self.size - len(self.head)
        while left > 0:
            n = min(left, CHUNK)
            digest.update(_ZEROS if n == CHUNK else _ZEROS[:n])
            left -= n
        return digest.hexdigest()


def job_tag(job: EmuJob) -> bytes:
    return f"vidgate-emulator task_id={job.task_id} dialect={job.dialect} model={job.model}".encode()


class VideoShape(NamedTuple):
    """Everything the rendered MP4 depends on (and is cached by)."""

    duration_s: float
    width: int
    height: int
    fps: int
    audio: bool
    text: str


def job_prompt(job: EmuJob) -> str:
    """The prompt drawn on the frames: ``meta["prompt"]`` if the dialect put it there, else the body's
    ``prompt``, ``input.prompt`` (Replicate) or ``instances[0].prompt`` (Veo)."""
    candidates: list[Any] = [job.meta.get("prompt"), job.body.get("prompt")]
    inputs = job.body.get("input")
    if isinstance(inputs, dict):
        candidates.append(inputs.get("prompt"))
    instances = job.body.get("instances")
    if isinstance(instances, list) and instances and isinstance(instances[0], dict):
        candidates.append(instances[0].get("prompt"))
    return next((c for c in candidates if isinstance(c, str) and c.strip()), "")


def provider_video(job: EmuJob) -> dict[str, Any]:
    """Frame size, frame rate and audio of the video the provider would return for ``job``'s request."""
    out = job.output or OutputVideo(*output_size(job.aspect_ratio))
    return {"width": out.width, "height": out.height, "fps": out.fps, "audio": out.audio}


def job_shape(state: EmulatorState | None, job: EmuJob) -> VideoShape:
    """The served video's shape: what the dialect set on the job (``job.output``; else its aspect ratio at
    720p, 24 fps, silent), changed by the ``wrong_video`` fault, scaled down (144 px short side, 8 fps)
    unless ``config.real_sizes``.
    Without a state (a job no ``EmulatorState`` recorded): small."""
    out = job.output or OutputVideo(*output_size(job.aspect_ratio))
    width, height, duration = out.width, out.height, job.duration
    wrong = job.wrong_video
    if wrong is not None:
        duration = wrong.duration_s or max(1.0, round(duration / 2))
        if wrong.size:
            w, _, h = wrong.size.partition("x")
            width, height = int(w), int(h)
        elif width != height:
            width, height = height, width
        else:  # a square turned is still square: halve its height
            height = max(2, height // 4 * 2)
    fps = out.fps
    if state is None or not state.config.real_sizes:
        width, height = small_size(width, height)
        fps = min(fps, SMALL_FPS)
    return VideoShape(duration, width, height, fps, out.audio, first_words(job_prompt(job)))


def shape_mp4(shape: VideoShape) -> bytes:
    return render_mp4(
        shape.duration_s, shape.width, shape.height, shape.fps, audio=shape.audio, text=shape.text or "vidgate"
    )


def job_file(state: EmulatorState, job: EmuJob) -> VideoFile:
    """The exact bytes served for ``job`` (the same on every request, distinct from every other job)."""
    return VideoFile.build(shape_mp4(job_shape(state, job)), job_tag(job), state.faults.plan.video_size)


def job_bytes(job: EmuJob) -> bytes:
    """The job's video without padding, in memory: for inline (base64) answers and small byte downloads.
    Equal to what ``/_emulator/truth`` hashes unless ``FaultPlan.video_size`` pads the served files."""
    return VideoFile.build(shape_mp4(job_shape(job.owner, job)), job_tag(job)).head


@lru_cache(maxsize=4096)
def _digest(shape: VideoShape, tag: bytes, size: int | None) -> tuple[int, str]:
    vf = VideoFile.build(shape_mp4(shape), tag, size)
    return vf.size, vf.sha256()


def job_digest(state: EmulatorState, job: EmuJob) -> tuple[int, str]:
    """Size and sha256 of ``job_file(state, job)`` (cached)."""
    return _digest(job_shape(state, job), job_tag(job), state.faults.plan.video_size)


def etag(job: EmuJob, vf: VideoFile) -> str:
    return f'"{job.file_id}-{vf.size}"'


def range_response(request: Request, vf: VideoFile, media_type: str, tag: str | None = None) -> Response:
    """Stream ``vf`` honouring one ``Range: bytes=a-b`` (and ``If-Range`` against ``tag``), as CDNs do."""
    headers = {"Accept-Ranges": "bytes"}
    if tag:
        headers["ETag"] = tag
    header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if header and if_range is not None and if_range != tag:
        header = None  # the client's copy is of another version: send the whole file
    m = _RANGE.match(header.strip()) if header else None
    total = vf.size
    if m is None or (m.group(1) == "" and m.group(2) == ""):
        headers["Content-Length"] = str(total)
        return StreamingResponse(vf.iter_range(0, total), media_type=media_type, headers=headers)
    first, last = m.group(1), m.group(2)
    if first == "":
        start, end = max(0, total - int(last)), total - 1
    else:
        start, end = int(first), min(total - 1, int(last) if last else total - 1)
    if start >= total or start > end:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{total}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingResponse(vf.iter_range(start, end + 1), status_code=206, media_type=media_type, headers=headers)


async def job_video_response(request: Request, state: EmulatorState, job: EmuJob) -> Response:
    """The job's video (Range, ETag, padding): use this for any dialect's download endpoint so the bytes
    match ``/_emulator/truth``."""
    vf = await run_in_threadpool(job_file, state, job)
    return range_response(request, vf, "video/mp4", etag(job, vf))


def routes(state: EmulatorState) -> list[Route]:
    async def cdn(request: Request) -> Response:
        state.count("GET /cdn/{file}")
        job, problem, late = state.files.resolve(request.path_params["token"])
        if problem in ("expired", "unsigned", "signature"):
            status = state.faults.plan.url_expired_status if problem == "expired" else 403
            state.faults.record(f"url_{problem}")
            why = {
                "expired": f"this file URL expired {late:.2f}s ago",
                "unsigned": "this file URL carries no signature while URLs expire",
                "signature": "this file URL's signature does not match",
            }[problem]
            return PlainTextResponse(f"{why}; query the task status again for a fresh URL\n", status_code=status)
        if job is None or state.phase(job)[0] != "done" or job.fail_reason:
            return PlainTextResponse("not found\n", status_code=404)
        return await job_video_response(request, state, job)

    async def cover(request: Request) -> Response:
        """A still of the video's first frame at its size (the relay chat answer's ``![cover](….webp)``)."""
        state.count("GET /cdn/{file}.webp")
        job = state.files.get(request.path_params["token"])
        if job is None or state.phase(job)[0] != "done" or job.fail_reason:
            return PlainTextResponse("not found\n", status_code=404)
        shape = job_shape(state, job)
        still = await run_in_threadpool(render_thumbnail, shape.width, shape.height, shape.text or "cover")
        return Response(still, media_type="image/webp")

    return [Route("/cdn/{token}.mp4", cdn, methods=["GET"]), Route("/cdn/{token}.webp", cover, methods=["GET"])]
