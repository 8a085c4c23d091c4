"""One contender of the many-jobs benchmark, in its own process: ``python -m bench.inflight_child '{...}'``.

``who``: ``vidgate`` (AsyncWorker over AsyncClient.advance with Http11Transport), ``vidgate-threads`` (the
thread-pool Worker on httpx's default transport), ``openai`` (AsyncOpenAI().videos.retrieve loops),
``litellm`` (litellm.avideo_status loops). vidgate submits its own ``jobs`` videos (kept in its job store);
the baselines read the ids of the videos the parent created. Then ``checks`` status checks are made over
them, ``concurrency`` at a time; only that phase is timed. Peak RSS covers the process's whole life.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from bench.common import cpu_seconds, emit, peak_rss_mb, rss_mb

MODEL = "openai/sora-2"  # OpenAI-format /v1/videos, the API every contender speaks


def measured(result: dict[str, Any], cpu0: float, t0: float, rss0: float) -> dict[str, Any]:
    return {**result, "cpu_s": cpu_seconds() - cpu0, "wall_s": time.monotonic() - t0, "rss_before_mb": rss0}


async def loops(ids: list[str], checks: int, concurrency: int, check: Callable[[str], Awaitable[Any]]) -> int:
    """``concurrency`` loops taking the ids round-robin until ``checks`` status checks were made."""
    done = 0

    async def loop() -> None:
        nonlocal done
        while done < checks:
            video_id = ids[done % len(ids)]
            done += 1
            await check(video_id)

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return done


def baseline(p: dict[str, Any]) -> dict[str, Any]:
    with open(p["ids_file"]) as fh:
        ids: list[str] = json.load(fh)
    base = p["url"] + "/openai/v1"
    check: Callable[[str], Awaitable[Any]]
    if p["who"] == "openai":
        import openai

        client = openai.AsyncOpenAI(base_url=base, api_key=p["api_key"], max_retries=0)

        def check(video_id: str) -> Awaitable[Any]:
            return client.videos.retrieve(video_id)
    else:
        import litellm

        def check(video_id: str) -> Awaitable[Any]:
            return litellm.avideo_status(
                video_id=video_id, api_base=base, api_key=p["api_key"], custom_llm_provider="openai"
            )

    async def main() -> dict[str, Any]:
        await loops(ids, min(200, p["checks"]), p["concurrency"], check)  # warm up: connections, caches
        rss0, cpu0, t0 = rss_mb(), cpu_seconds(), time.monotonic()
        n = await loops(ids, p["checks"], p["concurrency"], check)
        return measured({"checks": n, "errors": 0}, cpu0, t0, rss0)

    return asyncio.run(main())


def vidgate(p: dict[str, Any]) -> dict[str, Any]:
    from vidgate.client import AsyncClient, ProviderSettings
    from vidgate.engine.polling import PollPolicy
    from vidgate.engine.worker import Worker

    settings = {"openai": ProviderSettings(base_url=p["url"] + "/openai", api_key=p["api_key"])}
    # every job is due again within milliseconds of its last check: the worker runs flat out
    kwargs: dict[str, Any] = {"providers": settings, "env": {}, "allow_retired": True,
                              "poll_policy": PollPolicy(time_scale=1e-4)}  # fmt: skip
    jobs, checks, concurrency = p["jobs"], p["checks"], p["concurrency"]

    async def submit_all(client: AsyncClient) -> None:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                await client.submit(f"a lighthouse at dawn, take {i}", model=MODEL, duration=4, size="1280x720")

        await asyncio.gather(*(one(i) for i in range(jobs)))

    async def run_async() -> dict[str, Any]:
        async with AsyncClient(**kwargs) as client:
            await submit_all(client)
            worker = Worker(client.engine, concurrency=concurrency)
            stop = asyncio.Event()

            async def enough() -> None:
                while worker.stats.steps < checks:
                    await asyncio.sleep(0.005)
                stop.set()

            rss0, cpu0, t0 = rss_mb(), cpu_seconds(), time.monotonic()
            watcher = asyncio.ensure_future(enough())
            stats = await worker.run(stop)
            watcher.cancel()
            return measured({"checks": stats.steps, "errors": stats.errors}, cpu0, t0, rss0)

    return asyncio.run(run_async())


def main(raw: str) -> None:
    warnings.simplefilter("ignore")  # the Sora deprecation warnings, per call in the SDKs
    p = json.loads(raw)
    result = vidgate(p) if p["who"].startswith("vidgate") else baseline(p)
    emit({**result, "peak_rss_mb": peak_rss_mb(), "jobs": p["jobs"], "who": p["who"]})


if __name__ == "__main__":
    main(sys.argv[1])
