"""The emulator: one ASGI app speaking every emulated dialect, with request counters for tests.

from vidgate.emulator import create_app, EmulatorConfig
app = create_app(EmulatorConfig(render_seconds=2))
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator import control, files
from vidgate.emulator.dialects import (
    fal,
    google_interactions,
    google_veo_legacy,
    google_vertex,
    openai_videos,
    openrouter,
    relay,
    relay_account,
    relay_characters,
    relay_chat,
    replicate,
    zhipu,
)
from vidgate.emulator.dialects._common import EmuHTTPError
from vidgate.emulator.faults_asgi import EmulatorApp
from vidgate.emulator.files import VideoFile, range_response
from vidgate.emulator.state import EmulatorConfig, EmulatorState


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    state = EmulatorState(config or EmulatorConfig())

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
        *replicate.routes(state),  # /v1/models/{owner}/{name}/predictions, /v1/predictions (Replicate)
        *fal.routes(state),  # /fal-ai|bytedance|blackforestlabs/{app}, /.well-known/jwks.json (fal queue)
        *openrouter.routes(state),  # /api/v1/videos, /api/v1/videos/models (OpenRouter)
        *google_interactions.routes(state),  # /v1beta|v1/interactions and /v1beta|v1/files (Gemini API)
        *google_vertex.routes(state),  # /v1|v1beta1/projects/.../publishers/google/models/{m}:..., /storage/v1
        *google_veo_legacy.routes(state),  # /v1beta/models/{m}:predictLongRunning (legacy Veo)
        *relay_chat.routes(state),
        *relay_characters.routes(state),
        *relay_account.routes(state),  # /v1/models, /_emulator/models, /_emulator/quota-webhook
        *files.routes(state),  # /cdn/{token}.mp4: every job's video, Range, expiring URLs, padding
        *control.routes(state),  # /_emulator/faults, /_emulator/truth
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
    ]
    app = EmulatorApp(routes=routes, exception_handlers={EmuHTTPError: on_error})
    app.state.emulator = state
    return app


def byte_range_response(request: Request, data: bytes, media_type: str) -> Response:
    """Serve ``data`` honouring a single ``Range: bytes=a-b`` header, as CDNs do (streamed; files.py)."""
    return range_response(request, VideoFile.raw(data), media_type)
