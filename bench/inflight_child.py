"""A baseline of the many-jobs benchmark, in its own process: ``python -m bench.inflight_child '{...}'``.

``who``: ``openai`` (AsyncOpenAI().videos.retrieve loops) or ``litellm`` (litellm.avideo_status loops) over the
ids of the videos the parent created: ``checks`` status checks, ``concurrency`` at a time, after a warm-up;
only that phase is timed. Peak RSS covers the process's whole life. (vidgate's contender is the
``vidgate worker`` process itself, see ``bench.inflight``.)
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


def main(raw: str) -> None:
    warnings.simplefilter("ignore")  # the Sora deprecation warnings, per call in the SDKs
    p = json.loads(raw)
    result = baseline(p)
    emit({**result, "peak_rss_mb": peak_rss_mb(), "jobs": p["jobs"], "who": p["who"]})


if __name__ == "__main__":
    main(sys.argv[1])
