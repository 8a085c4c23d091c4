"""Benchmark 1 — polling efficiency: status requests per job and completion-detection lag.

Every text-to-video model the relay's unified API serves, ``per_model`` jobs each. The emulator (its own
process) makes each job last the model's catalog ``typical_latency_s`` times a factor drawn uniformly from
0.75-1.25 (``latency_spread``), all of it scaled by ``scale`` so a run takes seconds; the pollers sleep on
the same scale. Strategies, one after the other on a reset emulator (the same job times again):

* ``vidgate`` — ``AsyncClient.wait`` with the default ``PollPolicy``;
* ``fixed 1 s`` (the openai SDK's ``create_and_poll`` default), ``fixed 5 s`` and ``fixed 10 s`` (the
  intervals in the LiteLLM and google-genai docs) — a loop of status checks, built by the same dialect;
* ``vidgate + webhooks`` — every create carries its own ``notify_hook`` (``callback_urls``); the emulator
  calls it when the job ends; vidgate's receiver wakes the job and an ``Worker`` fetches its status.

Requests are the emulator's count of status GETs. Lag = the moment vidgate (or the loop) saw the final
state minus the moment the emulator made it final, both on the machine's monotonic clock. Polling lags are
reported in the provider's seconds (divided by ``scale``) and as a fraction of the job's time; webhook
lags are real seconds (a callback's delivery does not scale).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.common import Emulator, emulator, percentile
from vidgate.catalog import load_catalog
from vidgate.catalog.loader import is_retired
from vidgate.client import AsyncClient
from vidgate.engine.hints import wake_on_hint
from vidgate.engine.polling import PollPolicy
from vidgate.engine.worker import Worker
from vidgate.net.loopback import LoopbackServer
from vidgate.store import MemoryStore
from vidgate.types import Job, JobEvent
from vidgate.webhooks.hints import WebhookHint
from vidgate.webhooks.receiver import RelayNotifySource, WebhookReceiver
from vidgate.webhooks.relay_notify import RelayNotifyTokens

STATUS = "GET /v2/videos/generations/{task_id}"
SPREAD = 0.25
FIXED = (1.0, 5.0, 10.0)


def models() -> list[tuple[str, float]]:
    """(model, typical latency) of every current text-to-video model on the relay's unified API."""
    catalog = load_catalog()
    return [
        (m.key, m.typical_latency_s)
        for m in catalog.models.values()
        if m.dialect == "relay-unified" and m.images.min_count == 0 and not is_retired(m)
    ]


def _client(emu: Emulator, scale: float, **kwargs: Any) -> AsyncClient:
    """Every strategy's client: the same engine and transport, so only the schedule differs."""
    return AsyncClient(base_url=emu.url, api_key=emu.api_key, env={}, poll_policy=PollPolicy(time_scale=scale),
                       **kwargs)  # fmt: skip


async def _submit_all(client: AsyncClient, work: list[str]) -> list[Job]:
    return list(await asyncio.gather(*(client.submit(f"a lighthouse at dawn, take {i}", model=m)
                                       for i, m in enumerate(work))))  # fmt: skip


async def _vidgate(emu: Emulator, scale: float, work: list[str]) -> dict[str, float]:
    async with _client(emu, scale) as client:
        jobs = await _submit_all(client, work)
        seen: dict[str, float] = {}

        async def wait(job: Job) -> None:
            done = await client.wait(job)
            seen[done.provider_task_id or ""] = time.monotonic()

        await asyncio.gather(*(wait(j) for j in jobs))
    return seen


async def _fixed(emu: Emulator, scale: float, work: list[str], interval: float) -> dict[str, float]:
    async with _client(emu, scale) as client:
        jobs = await _submit_all(client, work)
        seen: dict[str, float] = {}

        async def loop(job: Job) -> None:
            while not job.status.terminal:
                await asyncio.sleep(interval * scale)
                job = await client.get(job)
            seen[job.provider_task_id or ""] = time.monotonic()

        await asyncio.gather(*(loop(j) for j in jobs))
    return seen


async def _webhooks(emu: Emulator, scale: float, work: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as videos:  # the worker saves each video too
        return await _webhooks_in(emu, scale, work, videos)


async def _webhooks_in(emu: Emulator, scale: float, work: list[str], videos: str) -> dict[str, float]:
    store = MemoryStore()
    receiver = WebhookReceiver(
        on_hint=_later, relay=RelayNotifySource(RelayNotifyTokens(RelayNotifyTokens.generate_key()))
    )
    public: dict[str, str] = {}

    def notify(job_id: str) -> str:
        return receiver.notify_url(public["url"], job_id)

    async with _client(emu, scale, store=store, callback_urls={"relay": notify}, downloads_dir=videos) as client:
        worker = Worker(client.engine, concurrency=64, idle_s=1.0)
        receiver.on_hint = wake_on_hint(store, client.now, client.catalog.providers, on_wake=worker.notify)
        seen: dict[str, float] = {}
        every = asyncio.Event()

        def on_event(event: JobEvent) -> None:
            if event.kind in ("completed", "failed"):
                seen[event.job.provider_task_id or ""] = time.monotonic()
                if len(seen) == len(work):
                    every.set()

        client.on_event(on_event)
        with LoopbackServer(receiver.app()) as hooks:
            public["url"] = hooks.url
            await _submit_all(client, work)
            stop = asyncio.Event()
            runner = asyncio.ensure_future(worker.run(stop))
            await every.wait()
            stop.set()
            await runner
    return seen


async def _later(hint: WebhookHint) -> None:
    raise RuntimeError("the receiver's on_hint is set once the client exists")


def _summarise(emu: Emulator, seen: dict[str, float], scale: float, jobs: int) -> dict[str, Any]:
    timings = emu.timings()
    requests = emu.counts().get(STATUS, 0)
    lags = [seen[t] - timings[t]["done"] for t in seen]
    fractions = [(seen[t] - timings[t]["done"]) / (timings[t]["done"] - timings[t]["created"]) for t in seen]
    return {
        "jobs": jobs,
        "found": len(seen),
        "requests": requests,
        "requests_per_job": requests / jobs,
        "lag_p50_s": percentile(lags, 50) / scale,
        "lag_p95_s": percentile(lags, 95) / scale,
        "lag_p50_real_s": percentile(lags, 50),
        "lag_p95_real_s": percentile(lags, 95),
        "lag_fraction_p50": percentile(fractions, 50),
        "lag_fraction_p95": percentile(fractions, 95),
        "lag_fraction_max": max(fractions) if fractions else float("nan"),
    }


def run(scale: float = 0.1, per_model: int = 3, only: int | None = None) -> dict[str, Any]:
    chosen = models()[:only] if only else models()
    work = [m for m, _ in chosen for _ in range(per_model)]
    strategies: list[tuple[str, Callable[[Emulator], Any]]] = [
        ("vidgate", lambda emu: _vidgate(emu, scale, work)),
        *[(f"fixed {int(i)} s", lambda emu, i=i: _fixed(emu, scale, work, i)) for i in FIXED],
        ("vidgate + webhooks", lambda emu: _webhooks(emu, scale, work)),
    ]
    results: dict[str, Any] = {}
    with emulator(time_scale=scale, latency_spread=SPREAD, latency_seed=7) as emu:
        for name, strategy in strategies:
            httpx.post(emu.url + "/_emulator/reset", timeout=30).raise_for_status()  # counts, jobs, the same seed
            seen = asyncio.run(strategy(emu))
            results[name] = _summarise(emu, seen, scale, len(work))
    vg, one, hooks = results["vidgate"], results["fixed 1 s"], results["vidgate + webhooks"]
    share = vg["requests"] / one["requests"]
    floors = {
        "requests_at_most_20pct_of_1s": {"value": round(share, 3), "target": "<= 0.20x the 1 s loop's requests",
                                         "met": share <= 0.2},
        "lag_p95_within_5pct_of_job_time": {"value": round(vg["lag_fraction_p95"], 4), "target": "<= 0.05",
                                            "met": vg["lag_fraction_p95"] <= 0.05},
        "webhooks_requests_per_job_at_most_2": {"value": round(hooks["requests_per_job"], 2), "target": "<= 2",
                                                "met": hooks["requests_per_job"] <= 2},
        "webhooks_lag_p95_under_0_5_s": {"value": round(hooks["lag_p95_real_s"], 3), "target": "< 0.5 s",
                                         "met": hooks["lag_p95_real_s"] < 0.5},
    }  # fmt: skip
    return {
        "scale": scale,
        "spread": SPREAD,
        "models": [{"model": m, "typical_latency_s": t} for m, t in chosen],
        "per_model": per_model,
        "results": results,
        "floors": floors,
    }
