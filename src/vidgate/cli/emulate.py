"""``vidgate emulate``: run the provider emulator as a foreground HTTP server."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from vidgate.cli._common import EMULATOR_TIME_SCALE, err, info, listen_or_exit
from vidgate.emulator import DEFAULT_KEY, EmulatorConfig, create_app
from vidgate.emulator.fault_plan import FaultPlan


def poll_scale(config: EmulatorConfig) -> float:
    """The ``VIDGATE_POLL_TIME_SCALE`` a client should use here: the emulator's own scale, or for fixed-length
    jobs (queue + render seconds) the built-in --emulator's 0.05, which finds a 6 s job within about a second."""
    return config.time_scale if config.time_scale is not None else EMULATOR_TIME_SCALE


def banner(url: str, keys: list[str], scale: float) -> list[str]:
    """What to paste into another terminal (or a script's environment) to use this emulator."""
    key = keys[0] if keys else DEFAULT_KEY
    return [
        f"vidgate emulator on {url}  (Ctrl-C stops)",
        f"API key: {key}" + (f" (also accepted: {', '.join(keys[1:])})" if len(keys) > 1 else ""),
        "Point vidgate at it (CLI and Python library alike):",
        f"  export VIDGATE_RELAY_BASE_URL={url} VIDGATE_RELAY_API_KEY={key}",
        f"  export VIDGATE_POLL_TIME_SCALE={scale:g}   # jobs here take seconds, not minutes: poll that much sooner",
        f"Other providers: VIDGATE_<PROVIDER>_BASE_URL={url} and VIDGATE_<PROVIDER>_API_KEY={key} "
        "(OPENAI, GEMINI, ZHIPU, ZAI, ...)",
    ]


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
            help='Fault plan to start with: a JSON file or inline JSON, e.g. \'{"rules": [{"endpoint": "POST *", '
            '"kind": "error", "status": 429, "count": 1}]}\' (README, "Fault injection", lists every kind); change '
            "it at runtime with POST /_emulator/faults"
        ),
    ] = None,
    real_sizes: Annotated[
        bool,
        typer.Option(
            "--real-sizes/--small",
            help="Videos at the size the provider returns for the request (1280x720, 1920x1080, 4k...), or "
            "--small: the same aspect ratio, duration and audio scaled down to a 144-pixel short side at 8 fps "
            "(tiny files, fast renders; what EmulatorConfig() does by default, for tests)",
        ),
    ] = True,
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
        real_sizes=real_sizes,
    )
    sock = listen_or_exit(host, port)  # bound before anything is announced: a busy port is an error, not a banner
    port = sock.getsockname()[1]
    for line in banner(f"http://{host}:{port}", sorted(config.api_keys), poll_scale(config)):
        info.print(line, markup=False)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    server.run(sockets=[sock])
