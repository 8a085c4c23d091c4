"""The emulator's own control endpoints (never faulted): the fault plan and the truth about every job.

``GET /_emulator/faults``     the active plan, per-rule counters, faults injected so far, the app's endpoints
``POST /_emulator/faults``    replace the plan (a FaultPlan JSON body); 400 lists every problem
``DELETE /_emulator/faults``  clear it (nothing breaks any more)
``GET /_emulator/truth``      every job: final state it will reach, sha256 of its exact bytes, creates per job
                              (``?hashes=false`` skips the hashing, e.g. for huge padded files)
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from vidgate.emulator.fault_plan import FaultPlan
from vidgate.emulator.faults import CONTROL_PREFIX, plain_template
from vidgate.emulator.files import job_digest, job_shape, provider_video
from vidgate.emulator.state import EmuJob, EmulatorState


def endpoints(routes: list[BaseRoute]) -> list[str]:
    """``METHOD /template`` for every route a fault rule can target."""
    out: list[str] = []
    for route in routes:
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None) or set()
        if not isinstance(path, str) or path.startswith(CONTROL_PREFIX):
            continue
        out.extend(f"{m} {plain_template(path)}" for m in sorted(methods) if m != "HEAD")
    return out


def prompt_of(body: Any) -> str | None:
    """The first ``prompt`` (or, in chat/Google-style bodies, ``text``) string in a create body."""
    if isinstance(body, dict):
        for key in ("prompt", "text"):
            if isinstance(body.get(key), str):
                return str(body[key])
        values: list[Any] = list(body.values())
    elif isinstance(body, list):
        values = body
    else:
        return None
    return next((p for p in (prompt_of(v) for v in values) if p is not None), None)


def job_truth(state: EmulatorState, job: EmuJob, hashes: bool = True) -> dict[str, Any]:
    phase, fraction = state.phase(job)
    failed = bool(job.fail_reason)
    cancelled = bool(job.meta.get("cancelled"))  # dialects with a cancel call mark it here
    entry: dict[str, Any] = {
        "task_id": job.task_id,
        "dialect": job.dialect,
        "model": job.model,
        "final": "cancelled" if cancelled else "failed" if failed else "succeeded",
        "fail_reason": job.fail_reason,
        "late_failure": failed and job.fail_at < 1.0,
        "fail_at": job.fail_at if failed else None,
        "phase": phase,
        "progress": round(fraction, 4),
        "prompt": prompt_of(job.body),
        "fingerprint": job.fingerprint,
        "creates": state.creates[job.fingerprint],
        "file_id": job.file_id,
        "size": None,
        "sha256": None,
        # the video as the provider would return it, and as this emulator serves it (small unless real_sizes)
        "video": {"provider": provider_video(job), "served": job_shape(state, job)._asdict()},
    }
    if hashes and not failed and not cancelled:
        entry["size"], entry["sha256"] = job_digest(state, job)
    return entry


def truth(state: EmulatorState, hashes: bool = True) -> dict[str, Any]:
    """What the emulator knows: every job and how it ends, the bytes it serves, and creates per identity."""
    jobs = [job_truth(state, job, hashes) for job in list(state.jobs.values())]
    creates = dict(state.creates)
    prompts = Counter(j["prompt"] for j in jobs if j["prompt"] is not None)
    return {
        "jobs": jobs,
        "creates": creates,
        "duplicates": {fp: n for fp, n in creates.items() if n > 1},
        # the same prompt accepted more than once (catches a resubmission that changed another field)
        "duplicate_prompts": {p: n for p, n in prompts.items() if n > 1},
        "injected": dict(state.faults.injected),
        "counts": dict(state.counts),
    }


def routes(state: EmulatorState) -> list[Route]:
    async def show(request: Request) -> JSONResponse:
        return JSONResponse({**state.faults.snapshot(), "endpoints": endpoints(request.app.routes)})

    async def put(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            plan = FaultPlan.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"], "value": e.get("input")}
                for e in exc.errors()
            ]
            message = "the fault plan is invalid; fix these fields (GET /_emulator/faults shows the kinds)"
            body = {"error": {"message": message, "problems": json.loads(json.dumps(problems, default=str))}}
            return JSONResponse(body, status_code=400)
        state.faults.set(plan)
        return JSONResponse({**state.faults.snapshot(), "endpoints": endpoints(request.app.routes)})

    async def clear(request: Request) -> JSONResponse:
        state.faults.clear()
        return JSONResponse(state.faults.snapshot())

    async def show_truth(request: Request) -> JSONResponse:
        hashes = request.query_params.get("hashes", "true").lower() not in ("0", "false", "no")
        return JSONResponse(await run_in_threadpool(truth, state, hashes))

    return [
        Route("/_emulator/faults", show, methods=["GET"]),
        Route("/_emulator/faults", put, methods=["POST", "PUT"]),
        Route("/_emulator/faults", clear, methods=["DELETE"]),
        Route("/_emulator/truth", show_truth, methods=["GET"]),
    ]
