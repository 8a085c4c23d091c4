"""The app factory: ``create_app(config)`` -> a FastAPI app serving the gateway.

    from vidgate.server import create_app, load_config
    app = create_app(load_config("gateway.toml"))          # uvicorn.run(app) / `vidgate serve`

Mounting more (the web console, your own pages) — the documented hook:

    def install(app: FastAPI, gateway: Gateway) -> None:   # called once, after the API routes exist
        app.mount("/console", make_console(gateway))         # or app.include_router(router)

    app = create_app(config, plugins=[install], routers=[my_router])

``app.state.gateway`` is the ``Gateway`` (store, routes, tenants); plugins may use it. The JSON API, the
SSE format and the OpenAPI document (``/openapi.json``, docs at ``/docs``) are the stable surface.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from vidgate import __version__
from vidgate.server import routes_assists, routes_characters, routes_openai, routes_ops, routes_relay
from vidgate.server.bodies import COMPONENTS
from vidgate.server.config import GatewayConfig
from vidgate.server.errors import install_handlers
from vidgate.server.gateway import Gateway
from vidgate.server.middleware import AccessLog, BodyLimit

Plugin = Callable[[FastAPI, Gateway], None]

DESCRIPTION = """Self-hosted video generation gateway. OpenAI-compatible `/v1/videos` (the official SDK works
unchanged), relay-compatible `/v2/videos/generations`, `/v1/models` with capabilities, live progress as
Server-Sent Events. Every request is checked against the model's capabilities before anything is sent;
errors use OpenAI's shape `{"error": {"message", "type", "param", "code"}}` with one entry per bad field
in `error.problems`. Authenticate with `Authorization: Bearer vg_...` (`vidgate keys create`)."""


def create_app(
    config: GatewayConfig | None = None,
    *,
    gateway: Gateway | None = None,
    routers: Sequence[APIRouter] = (),
    plugins: Sequence[Plugin] = (),
    start: bool = True,
) -> FastAPI:
    """The gateway app. ``gateway`` reuses a built ``Gateway`` (tests); ``start=False`` runs no background
    threads (no embedded worker, no webhook sender) — the app then only answers requests."""
    gw = gateway or Gateway(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start:
            await gw.start()
        try:
            async with gw.store.async_reads():  # reads on this loop await the database (JobStore.aget)
                yield
        finally:
            await gw.stop()
            if gateway is None:  # we built it, we close it
                gw.close()

    app = FastAPI(
        title="vidgate gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.gateway = gw
    install_handlers(app)
    # The API's routes on the app itself rather than include_router: FastAPI matches every request through each
    # included router's routes twice (a tenth of a GET /v1/videos/{id}). These routers take no include-time
    # options (prefix, tags and responses are given where they are declared), so their routes are complete.
    # characters before /{video_id}; assists: /v1/assists/plan|frame|review (issue 15)
    for module in (routes_characters, routes_openai, routes_relay, routes_ops, routes_assists):
        app.router.routes.extend(module.router.routes)
    app.router.routes.extend(routes_characters.relay_router.routes)  # the relay's POST /sora/v1/characters
    if gw.callbacks is not None:  # webhooks in: POST /hooks/relay/{job_id}/{token}, /hooks/openai, /hooks/gemini
        app.router.routes.extend(gw.callbacks.receiver.routes())
        for name in ("vidgate.access", "uvicorn.access"):
            logging.getLogger(name).addFilter(gw.callbacks.receiver.log_filter())
    for router in routers:
        app.include_router(router)
    for plugin in plugins:
        plugin(app, gw)
    _with_components(app)
    s = gw.config.server
    if s.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=s.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["authorization", "content-type", "idempotency-key", "last-event-id"],
            expose_headers=["openai-poll-after-ms", "x-request-id", "retry-after"],
            max_age=600,
        )
    app.add_middleware(BodyLimit, limit=s.max_body_bytes)
    app.add_middleware(AccessLog)
    return app


def _with_components(app: FastAPI) -> None:
    """Put the models nested in hand-written request bodies into the OpenAPI document's components."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            doc.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
