"""``vidgate serve``: the HTTP gateway. One process does everything on SQLite by default; with
``--store postgresql://...`` and ``--no-worker`` any number of replicas share the database while
``vidgate worker --config ...`` processes run the jobs."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from vidgate.cli._common import (
    Exit,
    OldStoreOpt,
    StoreOpt,
    emulator_time_scale,
    err,
    listen_or_exit,
    reported,
    store_url,
)
from vidgate.cli.emulator_jobs import emulator_client_options
from vidgate.extras import require


def serve(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Gateway TOML (routes, limits, prices)")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", min=0, max=65535)] = 8080,
    store: StoreOpt = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Run no jobs here (`vidgate worker` does)")] = False,
    worker_concurrency: Annotated[int | None, typer.Option(help="Jobs the embedded worker runs at once")] = None,
    downloads: Annotated[Path | None, typer.Option(help="Where finished videos are kept")] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="No API keys (local experiments only)")] = False,
    time_scale: Annotated[float | None, typer.Option(help="Poll faster (emulators that run jobs faster)")] = None,
    emulator: Annotated[bool, typer.Option(help="Send every job to the built-in emulator (offline demo)")] = False,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="The URL providers reach this gateway at: receive their webhooks under /hooks and send "
            "each job's own callback URL where the provider takes one"
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
    storage: Annotated[
        str | None,
        typer.Option(
            envvar="VIDGATE_STORAGE",
            help="Result storage: s3://BUCKET/PREFIX (S3-compatible; AWS_ENDPOINT_URL, AWS_REGION, "
            "AWS_ACCESS_KEY_ID...): /content redirects to presigned URLs (default: --downloads)",
        ),
    ] = None,
    database_url: OldStoreOpt = None,
) -> None:
    """Run the gateway: OpenAI-compatible /v1/videos, relay-compatible /v2, /v1/models, SSE, /metrics."""
    with reported(False), contextlib.ExitStack() as stack:
        require("server", "vidgate serve (the gateway)")
        import uvicorn

        from vidgate.server import Gateway, create_app, load_config
        from vidgate.server.logs import setup_logging

        cfg = load_config(config).with_server(
            database_url=store_url(store, database_url),
            worker=False if no_worker else None,
            worker_concurrency=worker_concurrency,
            downloads_dir=str(downloads) if downloads else None,
            storage=storage,
            auth=False if no_auth else None,
            time_scale=time_scale,
            public_url=public_url,
        )
        # the port first: taken, it is one line and exit 2, before a banner, an emulator or a worker exists
        sock = stack.enter_context(listen_or_exit(host, port))
        port = sock.getsockname()[1]  # (--port 0: the one the system picked)
        client_options: dict[str, Any] = {}
        gateway_env: dict[str, str] | None = None
        if emulator:
            from vidgate.emulator import EmulatorConfig, EmulatorServer

            scale = emulator_time_scale()
            emu = stack.enter_context(EmulatorServer(EmulatorConfig(time_scale=scale, real_sizes=True)))
            client_options = emulator_client_options(emu.url, emu.api_key)
            gateway_env = client_options.pop("env")  # Kling's signing secret, a Vertex project
            cfg = cfg.with_server(time_scale=scale)
            err.print(f"Jobs go to the built-in emulator at {emu.url} (offline; {1 / scale:g}x faster)")
        route_keys = [os.environ.get(r.api_key_env, "") for r in cfg.routes if r.api_key_env]
        setup_logging(log_level, secrets=[*route_keys, os.environ.get(cfg.server.secret_env, "")])
        gateway = Gateway(cfg, env=gateway_env, client_options=client_options)
        stack.callback(gateway.close)
        if emulator and (gone := gateway.client.abandon_emulator_jobs(emu.url, emu.api_key)):
            err.print(f"Cancelled {len(gone)} unfinished job(s) of an earlier run's built-in emulator (it is gone).")
        app = create_app(gateway=gateway, plugins=_plugins())
        where = "embedded worker" if cfg.server.worker else "no worker (run `vidgate worker`)"
        err.print(
            f"vidgate gateway on http://{f'[{host}]' if ':' in host else host}:{port} — {gateway.store!r}, {where}, "
            f"{len(gateway.router.routes)} routes; docs at /docs"
        )
        if gateway.callbacks is not None:
            hooks = gateway.callbacks
            providers = ", ".join(hooks.providers) or "no provider"
            err.print(f"Webhooks in at {hooks.public_url}/hooks; jobs of {providers} carry their own callback URL")
        if cfg.server.auth and not gateway.data.list_keys():
            err.print("No API keys yet: create one with `vidgate keys create --name NAME`.")
        server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, log_level=log_level)
        )
        server.run(sockets=[sock])
        if not server.started:  # the app's startup failed (the store, the worker): uvicorn logged why
            err.print("The gateway did not start: see the error above.")
            raise typer.Exit(int(Exit.provider_error))


def _plugins() -> list[Any]:
    """Extra apps mounted into the gateway: the web console (``vidgate.server.console.console_plugin``)."""
    try:
        from vidgate.server import console
    except ImportError:
        return []
    make = getattr(console, "console_plugin", None)
    return [make()] if callable(make) else []
