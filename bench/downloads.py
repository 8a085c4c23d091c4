"""Benchmark 3 — downloads: one big video from the emulator (padded to ``size`` bytes, streamed with Range).

Each contender runs in its own process so its RSS is its own: vidgate's shipped command (``vidgate jobs
download`` of a finished job in a SQLite store), the blocking ``Client.download`` scripts use,
``openai``'s ``download_content(...).write_to_file``, ``litellm.video_content`` and ``curl``. All fetch the
same endpoint (OpenAI-format ``GET /v1/videos/{id}/content``) from the emulator in a third process.
RSS growth = peak RSS minus the RSS just before the download (curl: its whole peak).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import Emulator, emulator, run_child

CONTENDERS = ("vidgate", "vidgate-sync", "openai", "litellm", "curl")


def _video(url: str, api_key: str) -> str:
    """Create one OpenAI-format video and wait until it is complete; its id."""
    with httpx.Client(base_url=url + "/openai/v1", headers={"Authorization": f"Bearer {api_key}"}) as h:
        body = {"model": "sora-2", "prompt": "a lighthouse at dawn", "seconds": "4", "size": "1280x720"}
        video_id: str = h.post("/videos", json=body).raise_for_status().json()["id"]
        while h.get(f"/videos/{video_id}").json()["status"] != "completed":
            time.sleep(0.05)
    return video_id


def _stored_job(emu: Emulator, store: Path, env: dict[str, str]) -> str:
    """A finished OpenAI-format job in the SQLite store, its video not downloaded yet: its id."""
    from vidgate.client import Client
    from vidgate.engine.polling import PollPolicy

    with Client(store=store, env=env, allow_retired=True, poll_policy=PollPolicy(time_scale=1e-4)) as c:
        job = c.wait(c.submit("a lighthouse at dawn", model="openai/sora-2", duration=4, size="1280x720"))
    return job.id


def run(size: int = 1 << 30, rounds: int = 1) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with emulator(time_scale=0.0005, video_size=size) as emu, tempfile.TemporaryDirectory() as tmp:
        video_id = _video(emu.url, emu.api_key)
        store = Path(tmp) / "jobs.db"
        env = {"VIDGATE_OPENAI_BASE_URL": emu.url + "/openai", "VIDGATE_OPENAI_API_KEY": emu.api_key,
               "VIDGATE_HOME": tmp}  # fmt: skip
        job_id = _stored_job(emu, store, env)
        for _ in range(rounds):
            for who in CONTENDERS:
                params = {"who": who, "url": emu.url, "api_key": emu.api_key, "video_id": video_id,
                          "out": str(Path(tmp) / f"{who}.mp4"), "store": str(store), "job_id": job_id,
                          "env": env}  # fmt: skip
                r = run_child("download_child", params)
                if r["bytes"] != size:
                    raise RuntimeError(f"{who} downloaded {r['bytes']} bytes, expected {size}")
                r["mb_per_s"] = r["bytes"] / r["seconds"] / 1e6
                r["rss_growth_mb"] = r["peak_rss_mb"] - r["rss_before_mb"]
                best = results.get(who)
                if best is None or r["mb_per_s"] > best["mb_per_s"]:  # best of the rounds
                    results[who] = r
    vg, curl = results["vidgate"], results["curl"]
    floors = {
        "rss_growth_under_32_mb": {"value": round(vg["rss_growth_mb"], 1), "target": "< 32 MB",
                                   "met": vg["rss_growth_mb"] < 32},
        "throughput_at_least_80pct_of_curl": {"value": round(vg["mb_per_s"] / curl["mb_per_s"], 2),
                                              "target": ">= 0.80x curl's MB/s",
                                              "met": vg["mb_per_s"] >= 0.8 * curl["mb_per_s"]},
    }  # fmt: skip
    return {"size": size, "rounds": rounds, "results": results, "floors": floors}
