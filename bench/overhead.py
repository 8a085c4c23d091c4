"""Benchmark 4 — client overhead: microseconds to validate and build one create request, no network.

vidgate: ``Client.prepare`` (the catalog check of every field, credentials, idempotency key) and the
dialect's first request (``httpx.Request``), for ``openai/sora-2`` (OpenAI-format ``/v1/videos``) and for
the relay's ``sora-2`` (``/v2/videos/generations``). The openai SDK: ``client.videos.create`` up to the
moment its HTTP client is asked to send (a transport that stops there), with retries off. Best of
``repeat`` runs of ``number`` calls each, in this process.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable
from typing import Any

import httpx


class _Stop(Exception):
    """Raised by the capturing transport: the request is built, nothing is sent."""


def _best(fn: Callable[[], Any], number: int, repeat: int) -> float:
    for _ in range(min(200, number)):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best * 1e6


def _vidgate(model: str, **fields: Any) -> Callable[[], Any]:
    from vidgate.client import Client, ProviderSettings

    settings = {p: ProviderSettings(base_url="http://127.0.0.1:9/openai", api_key="k") for p in ("openai", "relay")}
    client = Client(providers=settings, env={}, allow_retired=True)

    def build() -> httpx.Request:
        sub = client.prepare("a lighthouse on a cliff at dawn, slow aerial orbit", model=model, **fields)
        request: httpx.Request = next(sub.dialect.submit(sub.prepared, sub.connection))
        return request

    return build


def _openai() -> Callable[[], Any]:
    import httpx2
    import openai

    class Capture(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            raise _Stop

    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0,
                           http_client=httpx2.Client(transport=Capture()))  # fmt: skip

    def build() -> None:
        with contextlib.suppress(_Stop):  # built and handed to the transport: where sending would begin
            client.videos.create(model="sora-2", prompt="a lighthouse on a cliff at dawn, slow aerial orbit",
                                 seconds="4", size="1280x720")  # fmt: skip

    return build


def run(number: int = 5000, repeat: int = 5) -> dict[str, Any]:
    warnings.simplefilter("ignore")  # the SDK warns on every call that the Sora API shut down
    results = {
        "vidgate openai/sora-2": _best(_vidgate("openai/sora-2", duration=4, size="1280x720"), number, repeat),
        "vidgate relay sora-2": _best(_vidgate("relay/sora-2", duration=10, aspect_ratio="16:9"), number, repeat),
        "openai SDK videos.create": _best(_openai(), number, repeat),
    }
    return {"number": number, "repeat": repeat, "us_per_call": results}
