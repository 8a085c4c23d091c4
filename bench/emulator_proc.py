"""The emulator as a benchmark process: ``python -m bench.emulator_proc '{"time_scale": 0.05}'``.

Prints ``{"url": ..., "api_key": ...}`` on its first line, serves until its stdin closes. Keys of the JSON:
any ``EmulatorConfig`` field (``time_scale``, ``latency_spread``, ``poll_after_hint``...) and ``video_size``
(padded video files, via the fault plan). ``GET /_bench/done`` answers each task's creation and final moments on the
shared monotonic clock, for detection-lag measurements.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.emulator.fault_plan import FaultPlan


def main(raw: str) -> None:
    params: dict[str, Any] = json.loads(raw)
    video_size = params.pop("video_size", None)
    config = EmulatorConfig(**params, faults=FaultPlan(video_size=video_size) if video_size else None)
    server = EmulatorServer(config)
    state = server.state

    async def done(request: Request) -> JSONResponse:
        jobs = list(state.jobs.items())
        return JSONResponse({task: {"created": job.created, "done": state.done_at(job)} for task, job in jobs})

    server.app.router.routes.insert(0, Route("/_bench/done", done, methods=["GET"]))
    with server:
        sys.stdout.write(json.dumps({"url": server.url, "api_key": server.api_key}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the parent closes it (or dies)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "{}")
