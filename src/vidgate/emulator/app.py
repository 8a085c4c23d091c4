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
    chat_assist,
    dashscope,
    fal,
    google_interactions,
    google_veo_legacy,
    google_vertex,
    kling,
    luma,
    minimax,
    openai_videos,
    openrouter,
    relay,
    relay_account,
    relay_characters,
    relay_chat,
    replicate,
    runway,
    seedance,
    xai,
    zhipu,
)
from vidgate.emulator.dialects._common import EmuHTTPError
from vidgate.emulator.faults_asgi import EmulatorApp
from vidgate.emulator.files import VideoFile, job_bytes, range_response
from vidgate.emulator.state import EmulatorConfig, EmulatorState


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    state = EmulatorState(config or EmulatorConfig())
    state.prerender = job_bytes  # real-size videos are rendered while their jobs run (EmulatorState.add)

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
        *xai.routes(state),  # /v1/videos/generations, /v1/videos/{id} for xAI ids only: before openai_videos
        *openai_videos.routes(state),
        *kling.routes(state),  # /v1/videos/{text2video,image2video,omni-video}[/{id}], /kling/v1/... (Kling, relay)
        *replicate.routes(state),  # /v1/models/{owner}/{name}/predictions, /v1/predictions (Replicate)
        *runway.routes(state),  # /v1/image_to_video, /v1/text_to_video, /v1/tasks/{id} (Runway)
        *luma.routes(state),  # /v1/generations[/{id}] (Luma Agents), /dream-machine/v1/generations... (legacy)
        *seedance.routes(state),  # /api/v3/contents/generations/tasks, /ark-tos/... (Seedance: Ark, BytePlus)
        *minimax.routes(state),  # /v1/video_generation, /v1/files/retrieve (before Gemini's /v1/files/{name}), /v2/...
        *dashscope.routes(state),  # /api/v1/services/aigc/video-generation/..., /api/v1/tasks/{id} (Wan)
        *fal.routes(state),  # /fal-ai|bytedance|blackforestlabs/{app}, /.well-known/jwks.json (fal queue)
        *openrouter.routes(state),  # /api/v1/videos, /api/v1/videos/models (OpenRouter)
        *chat_assist.routes(state),  # /v1beta/models/{m}:generateContent, /assist-images (before legacy Veo's)
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
