"""The emulator: one ASGI app speaking every emulated dialect, with request counters for tests.

from vidgate.emulator import create_app, EmulatorConfig
app = create_app(EmulatorConfig(render_seconds=2))
"""

from __future__ import annotations

import re

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.dialects import openai_videos, relay, zhipu
from vidgate.emulator.dialects._common import EmuHTTPError
from vidgate.emulator.render import frame_size, render_mp4
from vidgate.emulator.state import EmulatorConfig, EmulatorState

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    state = EmulatorState(config or EmulatorConfig())

    async def cdn(request: Request) -> Response:
        state.count("GET /cdn/{file}")
        token = request.path_params["token"]
        job = state.files.get(token)
        if job is None or state.phase(job)[0] != "done" or job.fail_reason:
            return Response("not found", status_code=404, media_type="text/plain")
        data = render_mp4(job.duration, *frame_size(job.aspect_ratio))
        return byte_range_response(request, data, "video/mp4")

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"counts": dict(state.counts), "jobs": len(state.jobs)})

    async def reset(request: Request) -> JSONResponse:
        state.reset()
        return JSONResponse({"ok": True})

    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, EmuHTTPError)
        return exc.response()

    routes = [
        *relay.routes(state),
        *zhipu.routes(state),
        *openai_videos.routes(state),
        Route("/cdn/{token}.mp4", cdn, methods=["GET"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={EmuHTTPError: on_error})
    app.state.emulator = state
    return app


def byte_range_response(request: Request, data: bytes, media_type: str) -> Response:
    """Serve ``data`` honouring a single ``Range: bytes=a-b`` header, as CDNs do."""
    header = request.headers.get("range")
    total = len(data)
    m = _RANGE.match(header.strip()) if header else None
    if m is None:
        return Response(data, media_type=media_type, headers={"Accept-Ranges": "bytes"})
    first, last = m.group(1), m.group(2)
    if first == "":
        start, end = max(0, total - int(last or 0)), total - 1
    else:
        start, end = int(first), min(total - 1, int(last) if last else total - 1)
    if start >= total or start > end:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{total}"})
    headers = {"Content-Range": f"bytes {start}-{end}/{total}", "Accept-Ranges": "bytes"}
    return Response(data[start : end + 1], status_code=206, media_type=media_type, headers=headers)
