"""The two drivers that run step generators (``vidgate.net.steps``): one blocking, one asyncio.

They only perform effects — send, stream, read, sleep, write, resolve, offload — and know nothing of
jobs or providers; every decision lives in the generators. An effect that fails is thrown back into the
generator at its ``yield``; network failures of any kind (refused, reset, timed out, a response whose
framing is wrong) arrive as ``vidgate.errors.TransportError``, with ``not_sent`` set when no connection was
ever made (so the request surely did not reach the server).

    driver = AsyncDriver(AiohttpSender())          # or HttpxSender(httpx.AsyncClient(transport=...))
    result = await driver.run(steps)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx

from vidgate.net.steps import (
    Flush,
    Offload,
    ReadChunk,
    Report,
    Resolve,
    Sleep,
    Steps,
    Stream,
    Write,
)
from vidgate.net.transport import AsyncSender, HttpxSender, Opened, httpx_failure

T = TypeVar("T")
Resolver = Callable[[str, int], list[str]]
ReportCallback = Callable[[Any], None]
GUARDED_TIMEOUT_S = 30.0


def _system_resolver(host: str, port: int) -> list[str]:
    from vidgate.net.ssrf import system_resolver

    return system_resolver(host, port)


class BlockingDriver:
    """Runs step generators with a blocking ``httpx.Client`` (scripts, notebooks, tests)."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        sleep: Callable[[float], None] = time.sleep,
        resolver: Resolver = _system_resolver,
    ) -> None:
        self.http = http
        self.sleep = sleep
        self.resolver = resolver
        self._guarded: httpx.Client | None = None

    def close(self) -> None:
        self.http.close()
        if self._guarded is not None:
            self._guarded.close()

    def guarded(self) -> httpx.Client:
        """The client for user-supplied URLs: no proxies from the environment, redirects never followed."""
        if self._guarded is None:
            self._guarded = httpx.Client(trust_env=False, follow_redirects=False, timeout=GUARDED_TIMEOUT_S)
        return self._guarded

    def run(self, steps: Steps[T], on_report: ReportCallback | None = None) -> T:
        streaming: httpx.Response | None = None
        chunks: Iterator[bytes] | None = None
        try:
            effect = next(steps)
            while True:
                try:
                    if isinstance(effect, httpx.Request):
                        try:
                            reply: Any = self.http.send(effect)
                            reply.read()
                        except httpx.HTTPError as exc:
                            raise httpx_failure(effect, exc) from exc
                    elif isinstance(effect, ReadChunk):
                        if streaming is None or chunks is None:
                            raise RuntimeError("READ without an open Stream")
                        try:
                            reply = next(chunks, b"")
                        except httpx.HTTPError as exc:
                            raise httpx_failure(streaming.request, exc) from exc
                    elif isinstance(effect, Write):
                        effect.sink.write(effect.chunk)
                        reply = None
                    elif isinstance(effect, Stream):
                        if streaming is not None:
                            streaming.close()
                            streaming = chunks = None
                        http = self.guarded() if effect.guarded else self.http
                        try:
                            streaming = reply = http.send(effect.request, stream=True)
                        except httpx.HTTPError as exc:
                            raise httpx_failure(effect.request, exc) from exc
                        chunks = streaming.iter_bytes()
                    elif isinstance(effect, Sleep):
                        if effect.seconds > 0:
                            self.sleep(effect.seconds)
                        reply = None
                    elif isinstance(effect, Flush):
                        effect.sink.wait()
                        reply = None
                    elif isinstance(effect, Resolve):
                        reply = self.resolver(effect.host, effect.port)
                    elif isinstance(effect, Offload):
                        reply = effect.fn(*effect.args)
                    elif isinstance(effect, Report):
                        if on_report is not None:
                            on_report(effect.value)
                        reply = None
                    else:
                        raise TypeError(f"unknown effect {effect!r}")
                except Exception as exc:
                    effect = steps.throw(exc)
                else:
                    effect = steps.send(reply)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            if streaming is not None:
                streaming.close()


class AsyncDriver:
    """Runs step generators on an event loop (what the worker and the gateway use). ``sender`` moves the bytes
    (``AiohttpSender`` by default, see ``vidgate.net.transport``); guarded streams go through an httpx client
    with no environment proxies and no redirects."""

    def __init__(
        self,
        sender: AsyncSender,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        resolver: Resolver = _system_resolver,
    ) -> None:
        self.sender = sender
        self.sleep = sleep
        self.resolver = resolver
        self._guarded: HttpxSender | None = None

    async def aclose(self) -> None:
        await self.sender.aclose()
        if self._guarded is not None:
            await self._guarded.aclose()

    def guarded(self) -> HttpxSender:
        if self._guarded is None:
            self._guarded = HttpxSender(
                httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=GUARDED_TIMEOUT_S)
            )
        return self._guarded

    async def run(self, steps: Steps[T], on_report: ReportCallback | None = None) -> T:
        opened: Opened | None = None
        try:
            effect = next(steps)
            while True:
                try:
                    if isinstance(effect, httpx.Request):
                        reply: Any = await self.sender.send(effect)
                    elif isinstance(effect, ReadChunk):
                        if opened is None:
                            raise RuntimeError("READ without an open Stream")
                        reply = await opened.next_chunk()
                    elif isinstance(effect, Write):
                        await effect.sink.awrite(effect.chunk)
                        reply = None
                    elif isinstance(effect, Stream):
                        if opened is not None:
                            await opened.aclose()
                            opened = None
                        sender = self.guarded() if effect.guarded else self.sender
                        opened = await sender.open(effect.request)
                        reply = opened.response
                    elif isinstance(effect, Sleep):
                        if effect.seconds > 0:
                            await self.sleep(effect.seconds)
                        reply = None
                    elif isinstance(effect, Flush):
                        await effect.sink.aflush()
                        reply = None
                    elif isinstance(effect, Resolve):
                        reply = await asyncio.to_thread(self.resolver, effect.host, effect.port)
                    elif isinstance(effect, Offload):
                        reply = await asyncio.to_thread(effect.fn, *effect.args)
                    elif isinstance(effect, Report):
                        if on_report is not None:
                            on_report(effect.value)
                        reply = None
                    else:
                        raise TypeError(f"unknown effect {effect!r}")
                except Exception as exc:
                    effect = steps.throw(exc)
                else:
                    effect = steps.send(reply)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            if opened is not None:
                await opened.aclose()
