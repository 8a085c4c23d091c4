"""``vidgate emulate``: run the provider emulator as a foreground HTTP server."""

from __future__ import annotations

import socket
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from vidgate.cli._common import err
from vidgate.emulator import DEFAULT_KEY, EmulatorConfig, create_app
from vidgate.emulator.fault_plan import FaultPlan


def emulate(
    port: Annotated[int, typer.Option(help="Port to listen on", min=0, max=65535)] = 8765,
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
    faults: Annotated[
        str | None,
        typer.Option(
            help="Fault plan to start with: a JSON file or inline JSON (see emulator/fault_plan.py); "
            "change it at runtime with POST /_emulator/faults"
        ),
    ] = None,
) -> None:
    """Serve the emulated providers (relay /v2, ...) for offline development and tests."""
    try:
        plan = FaultPlan.load(faults) if faults else None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()
        )
        err.print(f"--faults {faults!r} is not a usable fault plan: {problems}", markup=False)
        raise typer.Exit(2) from None
    except (OSError, ValueError) as exc:
        err.print(
            f"--faults {faults!r} is not a usable fault plan: {exc}; pass a JSON file or inline JSON", markup=False
        )
        raise typer.Exit(2) from None
    config = EmulatorConfig(
        api_keys=set(api_key or [DEFAULT_KEY]),
        queue_seconds=queue_seconds,
        render_seconds=render_seconds,
        time_scale=time_scale,
        fail_trigger=fail_trigger,
        faults=plan,
    )
    try:  # bound before anything is announced: a busy port is an error, not a banner
        sock = socket.create_server((host, port))
    except OSError as exc:
        err.print(f"Cannot listen on {host}:{port}: {exc.strerror or exc}. Pick another --port (or stop what "
                  "uses it).", markup=False)  # fmt: skip
        raise typer.Exit(2) from None
    port = sock.getsockname()[1]
    err.print(f"vidgate emulator on http://{host}:{port}  (keys: {len(config.api_keys)}; Ctrl-C stops)")
    err.print(f"  export VIDGATE_RELAY_BASE_URL=http://{host}:{port}")
    err.print(f"  export VIDGATE_ZHIPU_BASE_URL=http://{host}:{port} VIDGATE_ZAI_BASE_URL=http://{host}:{port}")
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    server.run(sockets=[sock])
