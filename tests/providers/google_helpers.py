"""Sans-IO helpers for the Google dialect tests: prepare without I/O, drive a flow with canned responses."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from typing import Any

import httpx

from vidgate.client import Client, Submission

BASE = "https://generativelanguage.googleapis.com"
VERTEX_ENV = {"VIDGATE_VERTEX_PROJECT": "my-proj", "VIDGATE_VERTEX_ACCESS_TOKEN": "ya29.token"}


def prepare(
    prompt: str, *, env: dict[str, str] | None = None, allow_retired: bool = False, **fields: Any
) -> Submission:
    full_env = {"VIDGATE_GEMINI_API_KEY": "K", "VIDGATE_GEMINI_LEGACY_API_KEY": "K", **VERTEX_ENV, **(env or {})}
    with Client(env=full_env, allow_retired=allow_retired) as client:
        return client.prepare(prompt, **fields)


def drive(flow: Generator[Any, Any, Any], handler: Callable[[httpx.Request], httpx.Response]) -> Any:
    """Run a flow, answering every request it yields with ``handler``; returns the flow's value."""
    try:
        request = next(flow)
        while True:
            request = flow.send(handler(request))
    except StopIteration as stop:
        return stop.value


def answer(body: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, request=request)

    return handler


def sent(flow: Generator[Any, Any, Any]) -> tuple[httpx.Request, Any]:
    """The first request a flow yields and its JSON body."""
    request = next(flow)
    return request, json.loads(request.content) if request.content else None
