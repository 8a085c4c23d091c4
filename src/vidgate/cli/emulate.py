"""``vidgate emulate``: run the provider emulator as a foreground HTTP server."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from vidgate.cli._common import err
from vidgate.emulator import DEFAULT_KEY, EmulatorConfig, create_app


def emulate(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default)")] = "127.0.0.1",
    api_key: Annotated[list[str] | None, typer.Option("--api-key", help="Accepted key (repeatable)")] = None,
    queue_seconds: Annotated[float, typer.Option(help="Seconds a job waits before rendering")] = 1.0,
    render_seconds: Annotated[float, typer.Option(help="Seconds a job renders")] = 5.0,
    time_scale: Annotated[
        float | None, typer.Option(help="Instead: each job takes the model's typical latency times this")
    ] = None,
    fail_trigger: Annotated[
        str, typer.Option(help="Prompts containing this fail with the relay's content-policy reason")
    ] = "FAIL_POLICY",
) -> None:
    """Serve the emulated providers (relay /v2, ...) for offline development and tests."""
    config = EmulatorConfig(
        api_keys=set(api_key or [DEFAULT_KEY]),
        queue_seconds=queue_seconds,
        render_seconds=render_seconds,
        time_scale=time_scale,
        fail_trigger=fail_trigger,
    )
    err.print(f"vidgate emulator on http://{host}:{port}  (keys: {len(config.api_keys)}; Ctrl-C stops)")
    err.print(f"  export VIDGATE_RELAY_BASE_URL=http://{host}:{port}")
    err.print(f"  export VIDGATE_ZHIPU_BASE_URL=http://{host}:{port} VIDGATE_ZAI_BASE_URL=http://{host}:{port}")
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
