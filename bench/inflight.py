"""Benchmark 2 — many jobs in flight: ``jobs`` concurrent jobs tracked by the ``vidgate worker`` process.

The emulator runs in its own process with jobs that stay in flight for the whole run (time scale 10: a sora-2
job takes 20 minutes) and without the ``openai-poll-after-ms`` hint, so every contender can check as fast as
it is able. vidgate's contender is what ships: the ``vidgate worker`` command on a SQLite job store holding
``jobs`` submitted jobs (its store work — claim, save, release — is counted too), polling flat out
(``--time-scale 1e-4``), 64 steps at once. The baselines are ``AsyncOpenAI().videos.retrieve`` and
``litellm.avideo_status`` loops over as many videos, 64 at once, each in its own process. Every contender
makes ``checks`` status checks after a warm-up; reported: peak RSS, CPU seconds per 1,000 checks (the
process's user + system time, every thread), checks per second and per CPU second.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import CHILD_ENV, ROOT, Emulator, emulator, peak_rss_mb, process_cpu_seconds, run_child

CONTENDERS = ("vidgate", "openai", "litellm")
BASELINES = ("openai", "litellm")
STATUS = "GET /openai/v1/videos/{id}"
MODEL = "openai/sora-2"  # OpenAI-format /v1/videos, the API every contender speaks


async def create_videos(url: str, api_key: str, n: int) -> list[str]:
    """``n`` OpenAI-format videos on the emulator (the baselines' jobs), 64 creates at a time."""
    sem = asyncio.Semaphore(64)
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=url + "/openai/v1", headers={"Authorization": f"Bearer {api_key}"}) as h:

        async def one(i: int) -> None:
            async with sem:
                body = {"model": "sora-2", "prompt": f"a lighthouse at dawn, take {i}", "seconds": "4",
                        "size": "1280x720"}  # fmt: skip
                answer = await h.post("/videos", json=body)
                answer.raise_for_status()
                ids.append(answer.json()["id"])

        await asyncio.gather(*(one(i) for i in range(n)))
    return ids


def worker_env(emu: Emulator, home: Path) -> dict[str, str]:
    """The worker's configuration: the emulator as the OpenAI endpoint (the jobs are bound to it)."""
    return {**CHILD_ENV, "VIDGATE_OPENAI_BASE_URL": emu.url + "/openai", "VIDGATE_OPENAI_API_KEY": emu.api_key,
            "VIDGATE_HOME": str(home)}  # fmt: skip


async def submit_jobs(store: Path, env: dict[str, str], n: int, concurrency: int) -> None:
    """``n`` jobs submitted into the SQLite store, bound to the endpoint the worker process is configured for."""
    from vidgate.client import AsyncClient
    from vidgate.engine.polling import PollPolicy

    config = {k: v for k, v in env.items() if k.startswith("VIDGATE_OPENAI_")}
    sem = asyncio.Semaphore(concurrency)
    async with AsyncClient(store=store, env=config, allow_retired=True, poll_policy=PollPolicy(time_scale=1e-4)) as c:

        async def one(i: int) -> None:
            async with sem:
                await c.submit(f"a lighthouse at dawn, take {i}", model=MODEL, duration=4, size="1280x720")

        await asyncio.gather(*(one(i) for i in range(n)))


def wait_checks(emu: Emulator, target: int, proc: subprocess.Popen[bytes], timeout: float = 600) -> int:
    end = time.monotonic() + timeout
    while (count := emu.counts().get(STATUS, 0)) < target:
        if proc.poll() is not None:
            raise RuntimeError(f"vidgate worker exited {proc.returncode} before {target} status checks")
        if time.monotonic() > end:
            raise RuntimeError(f"vidgate worker made {count} of {target} status checks in {timeout} s")
        time.sleep(0.05)
    return count


def vidgate_worker(emu: Emulator, tmp: Path, jobs: int, checks: int, concurrency: int) -> dict[str, Any]:
    """The ``vidgate worker`` process: its own CPU time and RSS, the checks counted by the emulator."""
    store, home = tmp / "jobs.db", tmp / "home"
    env = worker_env(emu, home)
    asyncio.run(submit_jobs(store, env, jobs, concurrency))
    args = [sys.executable, "-m", "vidgate", "worker", "--store", str(store), "--downloads", str(tmp / "videos"),
            "--time-scale", "1e-4", "--concurrency", str(concurrency), "--idle", "0.01"]  # fmt: skip
    log = (tmp / "worker.log").open("wb")
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        start = wait_checks(emu, emu.counts().get(STATUS, 0) + min(500, checks), proc)  # warm up
        cpu0, t0 = process_cpu_seconds(proc.pid), time.monotonic()
        done = wait_checks(emu, start + checks, proc) - start
        cpu, wall = process_cpu_seconds(proc.pid) - cpu0, time.monotonic() - t0
        peak = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    return {"who": "vidgate", "checks": done, "errors": 0, "cpu_s": cpu, "wall_s": wall, "peak_rss_mb": peak,
            "jobs": jobs}  # fmt: skip


def run(jobs: int = 10_000, checks: int = 20_000, concurrency: int = 64) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with emulator(time_scale=10.0, poll_after_hint=False) as emu, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ids_file = tmp / "ids.json"
        ids_file.write_text(json.dumps(asyncio.run(create_videos(emu.url, emu.api_key, jobs))))
        for who in CONTENDERS:
            if who == "vidgate":
                r = vidgate_worker(emu, tmp, jobs, checks, concurrency)
            else:
                params = {"who": who, "url": emu.url, "api_key": emu.api_key, "ids_file": str(ids_file),
                          "jobs": jobs, "checks": checks, "concurrency": concurrency}  # fmt: skip
                r = run_child("inflight_child", params)
            r["cpu_ms_per_check"] = 1000 * r["cpu_s"] / r["checks"]
            r["checks_per_s"] = r["checks"] / r["wall_s"]
            r["checks_per_cpu_s"] = r["checks"] / r["cpu_s"]
            results[who] = r
    best = max(results[b]["checks_per_cpu_s"] for b in BASELINES)
    vg = results["vidgate"]
    floors = {
        "rss_under_300_mb": {"value": vg["peak_rss_mb"], "target": "< 300 MB", "met": vg["peak_rss_mb"] < 300},
        "twice_the_baselines_per_cpu_s": {
            "value": round(vg["checks_per_cpu_s"] / best, 2),
            "target": ">= 2x the best baseline's checks per CPU second",
            "met": vg["checks_per_cpu_s"] >= 2 * best,
        },
    }
    return {"jobs": jobs, "checks": checks, "concurrency": concurrency, "results": results, "floors": floors}
