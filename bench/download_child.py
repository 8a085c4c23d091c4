"""One contender of the download benchmark, in its own process: ``python -m bench.download_child '{...}'``.

``who``: ``vidgate`` (the ``vidgate jobs download`` command, run in this process so its own time is measured
without the interpreter's start: the asyncio engine streams to disk with sha256, resume state, sniffing
and a probe of the file), ``vidgate-sync`` (``Client.download``, the blocking client scripts use),
``openai`` (``client.videos.download_content(id).write_to_file(path)``), ``litellm`` (``litellm.video_content``
returns the bytes, written to the file) and ``curl``. Reported: seconds, bytes, the RSS before the download
and the process's peak RSS (curl: its own peak, as a child).
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from bench.common import emit, peak_rss_mb, rss_mb, run_watched


def main(raw: str) -> None:
    warnings.simplefilter("ignore")
    p: dict[str, Any] = json.loads(raw)
    who, base, key, out = p["who"], p["url"] + "/openai/v1", p["api_key"], Path(p["out"])
    if who == "vidgate":  # the shipped command: `vidgate jobs download ID --out FILE --store DB`
        os.environ.update(p["env"])
        from vidgate.cli import app

        rss0, t0 = rss_mb(), time.monotonic()
        try:
            app(["jobs", "download", p["job_id"], "--out", str(out), "--store", p["store"]], standalone_mode=False)
        finally:
            seconds = time.monotonic() - t0
        peak = peak_rss_mb()
    elif who == "vidgate-sync":  # Client on httpx's default transport
        from vidgate.client import Client, ProviderSettings
        from vidgate.engine.polling import PollPolicy

        settings = {"openai": ProviderSettings(base_url=p["url"] + "/openai", api_key=key)}
        with Client(providers=settings, env={}, allow_retired=True, poll_policy=PollPolicy(time_scale=1e-4)) as c:
            job = c.wait(c.submit("a lighthouse at dawn", model="openai/sora-2", duration=4, size="1280x720"))
            rss0, t0 = rss_mb(), time.monotonic()
            job = c.download(job, out)
            seconds = time.monotonic() - t0
        peak = peak_rss_mb()
    elif who == "openai":
        import openai

        client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)
        rss0, t0 = rss_mb(), time.monotonic()
        client.videos.download_content(p["video_id"]).write_to_file(out)
        seconds, peak = time.monotonic() - t0, peak_rss_mb()
    elif who == "litellm":
        import litellm

        rss0, t0 = rss_mb(), time.monotonic()
        data = litellm.video_content(video_id=p["video_id"], api_base=base, api_key=key, custom_llm_provider="openai")
        out.write_bytes(data)
        seconds, peak = time.monotonic() - t0, peak_rss_mb()
        del data
    else:
        url = f"{base}/videos/{p['video_id']}/content"
        rss0, t0 = 0.0, time.monotonic()
        peak = run_watched(["curl", "-sS", "--fail", "-o", str(out), "-H", f"Authorization: Bearer {key}", url])
        seconds = time.monotonic() - t0
    size = os.path.getsize(out)
    out.unlink()
    emit({"who": who, "seconds": seconds, "bytes": size, "rss_before_mb": rss0, "peak_rss_mb": peak})


if __name__ == "__main__":
    main(sys.argv[1])
