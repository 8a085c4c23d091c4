"""Benchmark 2 — many jobs in flight: one process tracking ``jobs`` concurrent jobs.

The emulator runs in its own process with jobs that stay in flight for the whole run (time scale 10: a
sora-2 job takes 20 minutes) and without the ``openai-poll-after-ms`` hint, so every contender can check
as fast as it is able. Each contender runs in its own process and makes ``checks`` status checks with 64
requests at once: vidgate's AsyncWorker (Http11Transport), vidgate's thread-pool Worker (httpx's default
transport), ``AsyncOpenAI().videos.retrieve`` loops and ``litellm.avideo_status`` loops over the same kind
of videos. Reported: peak RSS, CPU seconds per 1,000 checks, checks per second and per CPU second.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.common import emulator, run_child

CONTENDERS = ("vidgate", "openai", "litellm")
BASELINES = ("openai", "litellm")


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


def run(jobs: int = 10_000, checks: int = 20_000, concurrency: int = 64) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with emulator(time_scale=10.0, poll_after_hint=False) as emu, tempfile.TemporaryDirectory() as tmp:
        ids_file = Path(tmp) / "ids.json"
        ids_file.write_text(json.dumps(asyncio.run(create_videos(emu.url, emu.api_key, jobs))))
        for who in CONTENDERS:
            params = {"who": who, "url": emu.url, "api_key": emu.api_key, "ids_file": str(ids_file), "jobs": jobs,
                      "checks": checks, "concurrency": concurrency}  # fmt: skip
            r = run_child("inflight_child", params)
            r["cpu_ms_per_check"] = 1000 * r["cpu_s"] / r["checks"]
            r["checks_per_s"] = r["checks"] / r["wall_s"]
            r["checks_per_cpu_s"] = r["checks"] / r["cpu_s"]
            results[who] = r
    best = max(results[b]["checks_per_cpu_s"] for b in BASELINES)
    floors = {
        "rss_under_300_mb": results["vidgate"]["peak_rss_mb"] < 300,
        "twice_the_baselines_per_cpu_s": results["vidgate"]["checks_per_cpu_s"] >= 2 * best,
    }
    return {"jobs": jobs, "checks": checks, "concurrency": concurrency, "results": results, "floors": floors}
