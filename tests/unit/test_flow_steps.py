"""The flow contract's streaming steps (Stream, READ, intermediate JobUpdates) in both drivers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from vidgate.errors import TransportError
from vidgate.providers import JobUpdate, run_async, run_sync
from vidgate.providers._base import READ, StepFlow, open_stream, read_chunk, read_rest, report, send
from vidgate.types import JobStatus


def flow() -> StepFlow[tuple[list[bytes], str]]:
    yield from report(JobUpdate(status=JobStatus.queued, raw_status="start"))
    response = yield from open_stream(httpx.Request("GET", "https://h.example/stream"))
    assert response.status_code == 200 and not response.is_closed
    got: list[bytes] = []
    while chunk := (yield from read_chunk()):
        got.append(chunk)
        yield from report(JobUpdate(progress=len(got)))
    after = yield from send(httpx.Request("GET", "https://h.example/after"))
    return got, after.text


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, parts: list[bytes], fail: bool = False) -> None:
        self.parts, self.fail, self.closed = parts, fail, False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.parts
        if self.fail:
            raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for p in self.parts:
            yield p
        if self.fail:
            raise httpx.ReadError("connection reset")

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def handler(stream: Chunks) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/stream":
            return httpx.Response(200, stream=stream)
        return httpx.Response(200, text="done")

    return httpx.MockTransport(answer)


def test_run_sync_streams_reports_and_closes() -> None:
    body = Chunks([b"a", b"bc", b"d"])
    updates: list[JobUpdate] = []
    with httpx.Client(transport=handler(body)) as http:
        got, after = run_sync(http, flow(), updates.append)
    assert (got, after) == ([b"a", b"bc", b"d"], "done")
    assert [u.raw_status for u in updates] == ["start", None, None, None]
    assert [u.progress for u in updates[1:]] == [1, 2, 3]
    assert body.closed  # the streaming response was closed before the next request


def test_run_async_streams_reports_and_closes() -> None:
    body = Chunks([b"x", b"y"])
    updates: list[JobUpdate] = []

    async def go() -> tuple[list[bytes], str]:
        async with httpx.AsyncClient(transport=handler(body)) as http:
            return await run_async(http, flow(), updates.append)

    assert asyncio.run(go()) == ([b"x", b"y"], "done")
    assert len(updates) == 3 and body.closed


def test_updates_are_optional_and_a_read_error_is_a_transport_error() -> None:
    with httpx.Client(transport=handler(Chunks([b"a"], fail=True))) as http, pytest.raises(TransportError):
        run_sync(http, flow())


def test_read_without_a_stream_is_a_programming_error_and_read_rest_caps() -> None:
    def bad() -> StepFlow[None]:
        yield READ

    with httpx.Client(transport=handler(Chunks([]))) as http, pytest.raises(RuntimeError, match="READ"):
        run_sync(http, bad())

    def capped() -> StepFlow[bytes]:
        yield from open_stream(httpx.Request("GET", "https://h.example/stream"))
        return (yield from read_rest(limit=3))

    with httpx.Client(transport=handler(Chunks([b"ab", b"cd", b"ef"]))) as http:
        assert run_sync(http, capped()) == b"abc"
