"""One contract for both drivers: every effect of ``vidgate.net.steps`` means the same under each."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from vidgate.errors import TransportError
from vidgate.net.drive import AsyncDriver, BlockingDriver
from vidgate.net.steps import (
    READ,
    Flush,
    Resolve,
    Sleep,
    Steps,
    Write,
    offload,
    open_stream,
    read_chunk,
    read_rest,
    report,
    send,
)
from vidgate.net.transport import AiohttpSender, HttpxSender
from vidgate.providers import JobUpdate
from vidgate.providers._base import report as report_update
from vidgate.types import JobStatus


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


class Sink:
    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.flushes = 0

    def write(self, chunk: bytes) -> None:
        self.got.append(chunk)

    async def awrite(self, chunk: bytes) -> None:
        self.got.append(chunk)

    def wait(self) -> None:
        self.flushes += 1

    async def aflush(self) -> None:
        self.flushes += 1


Run = Callable[..., Any]


@pytest.fixture(params=["blocking", "asyncio"])
def run(request: pytest.FixtureRequest) -> Run:
    """``run(steps, transport, on_report=None, **driver_kwargs)`` under one of the two drivers."""

    def blocking(steps: Steps[Any], transport: httpx.MockTransport, on_report: Any = None, **kw: Any) -> Any:
        driver = BlockingDriver(httpx.Client(transport=transport), **kw)
        try:
            return driver.run(steps, on_report)
        finally:
            driver.close()

    def in_loop(steps: Steps[Any], transport: httpx.MockTransport, on_report: Any = None, **kw: Any) -> Any:
        if "sleep" in kw:
            sync_sleep = kw.pop("sleep")

            async def sleep(seconds: float) -> None:
                sync_sleep(seconds)

            kw["sleep"] = sleep

        async def go() -> Any:
            sender = AiohttpSender() if transport is None else HttpxSender(httpx.AsyncClient(transport=transport))
            driver = AsyncDriver(sender, **kw)
            try:
                return await driver.run(steps, on_report)
            finally:
                await driver.aclose()

        return asyncio.run(go())

    return blocking if request.param == "blocking" else in_loop


def streamed() -> Steps[tuple[list[bytes], str]]:
    yield from report_update(JobUpdate(status=JobStatus.queued, raw_status="start"))
    response = yield from open_stream(httpx.Request("GET", "https://h.example/stream"))
    assert response.status_code == 200 and not response.is_closed
    got: list[bytes] = []
    while chunk := (yield from read_chunk()):
        got.append(chunk)
        yield from report(len(got))
    after = yield from send(httpx.Request("GET", "https://h.example/after"))
    return got, after.text


def test_streams_reports_and_closes(run: Run) -> None:
    body = Chunks([b"a", b"bc", b"d"])
    reports: list[Any] = []
    got = run(streamed(), handler(body), reports.append)
    assert got == ([b"a", b"bc", b"d"], "done")
    assert reports[0].raw_status == "start" and reports[1:] == [1, 2, 3]
    assert body.closed  # the streaming response was closed before the next request


def test_reports_are_optional_and_a_read_error_is_thrown_into_the_generator(run: Run) -> None:
    seen: list[str] = []

    def catches() -> Steps[str]:
        yield from open_stream(httpx.Request("GET", "https://h.example/stream"))
        try:
            while (yield from read_chunk()):
                pass
        except TransportError as exc:
            seen.append(str(exc))
            return "recovered"
        return "no error"

    assert run(catches(), handler(Chunks([b"a"], fail=True))) == "recovered"
    assert "ReadError" in seen[0]
    with pytest.raises(TransportError):
        run(streamed(), handler(Chunks([b"a"], fail=True)))


def test_a_refused_connection_is_marked_not_sent(run: Run) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def one() -> Steps[httpx.Response]:
        return (yield from send(httpx.Request("GET", f"http://127.0.0.1:{port}/")))

    def real(steps: Steps[Any]) -> Any:
        return run(steps, None)  # the real transport

    with pytest.raises(TransportError) as info:
        real(one())
    assert info.value.not_sent


def test_sleep_write_flush_resolve_offload(run: Run) -> None:
    sink = Sink()
    slept: list[float] = []

    def work() -> Steps[tuple[list[str], int]]:
        yield Sleep(1.5)
        yield Sleep(0)  # nothing to wait for: not slept
        yield Write(sink, b"x")
        yield Flush(sink)
        addresses = yield Resolve("img.example", 443)
        total = yield from offload(sum, [1, 2, 3])
        return addresses, total

    got = run(work(), handler(Chunks([])), sleep=slept.append, resolver=lambda host, port: [f"{host}:{port}"])
    assert got == (["img.example:443"], 6)
    assert slept == [1.5] and sink.got == [b"x"] and sink.flushes == 1


def test_a_failed_resolve_reaches_the_generator(run: Run) -> None:
    def refuse(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    def work() -> Steps[str]:
        try:
            yield Resolve("nowhere.example", 80)
        except OSError as exc:
            return f"caught {exc}"
        return "resolved"

    assert run(work(), handler(Chunks([])), resolver=refuse) == "caught no such host"


def test_read_without_a_stream_is_a_programming_error_and_read_rest_caps(run: Run) -> None:
    def bad() -> Steps[None]:
        yield READ

    with pytest.raises(RuntimeError, match="READ"):
        run(bad(), handler(Chunks([])))

    def capped() -> Steps[bytes]:
        yield from open_stream(httpx.Request("GET", "https://h.example/stream"))
        return (yield from read_rest(limit=3))

    assert run(capped(), handler(Chunks([b"ab", b"cd", b"ef"]))) == b"abc"


def test_an_unknown_effect_is_refused(run: Run) -> None:
    def odd() -> Steps[None]:
        yield "not an effect"  # type: ignore[misc]

    with pytest.raises(TypeError, match="unknown effect"):
        run(odd(), handler(Chunks([])))
