"""How the asyncio driver sends requests: ``AiohttpSender`` (the default) or ``HttpxSender`` (any httpx transport).

Dialects build ``httpx.Request`` objects and parse ``httpx.Response`` objects; the bytes in between are moved by
a maintained client. ``make bench`` chose aiohttp for the engine: for status checks it spends about a third
of the CPU of ``httpx.AsyncClient`` on its default transport, and it streams a 1 GiB download with large reads
(docs/benchmarks.md). Its C parser (llhttp) frames responses and refuses what is malformed — conflicting or
negative ``Content-Length``, a truncated or badly chunked body — which arrives as ``TransportError``.

``HttpxSender`` runs the same effects on an ``httpx.AsyncClient`` (tests inject ``httpx.MockTransport`` this
way) and carries the SSRF guard's pinned requests (``Stream(guarded=True)``): no environment proxies, no
redirects, TLS checked against the URL's own name.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import urllib.request
from typing import Any, Protocol

import aiohttp
import certifi
import httpx
import yarl

from vidgate.errors import TransportError

READ_CHUNK = 1 << 20  # the most a streamed body buffers before reading pauses
# PoolTimeout: no connection came free in time, so the request never left (safe to send again)
_HTTPX_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_AIOHTTP_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class Opened(Protocol):
    """A response whose body is still to be read, chunk by chunk."""

    response: httpx.Response

    async def next_chunk(self) -> bytes:
        """The next piece of the body; ``b""`` once it has ended."""
        ...

    async def aclose(self) -> None: ...


class AsyncSender(Protocol):
    async def send(self, request: httpx.Request) -> httpx.Response:
        """The response with its body read."""
        ...

    async def open(self, request: httpx.Request) -> Opened:
        """The response with its body unread (``Opened.next_chunk`` reads it)."""
        ...

    async def aclose(self) -> None: ...


def _host(request: httpx.Request) -> str:
    return request.url.host or "provider"


def httpx_failure(request: httpx.Request, exc: Exception) -> TransportError:
    """vidgate's error for an httpx failure (connect, read, write, timeout, framing, decoding)."""
    return TransportError(_host(request), f"{exc.__class__.__name__}: {exc}", not_sent=isinstance(exc, _HTTPX_NOT_SENT))


def aiohttp_failure(request: httpx.Request, exc: BaseException) -> TransportError:
    """vidgate's error for an aiohttp failure; ``not_sent`` when no connection was ever made."""
    not_sent = isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError | aiohttp.InvalidURL)
    return TransportError(_host(request), f"{exc.__class__.__name__}: {exc}", not_sent=not_sent)


# ---------------------------------------------------------------- httpx


class _HttpxOpened:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._chunks = response.aiter_bytes()

    async def next_chunk(self) -> bytes:
        try:
            return await anext(self._chunks, b"")
        except httpx.HTTPError as exc:
            raise httpx_failure(self.response.request, exc) from exc

    async def aclose(self) -> None:
        await self.response.aclose()


class HttpxSender:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def send(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.http.send(request)
            await response.aread()
        except httpx.HTTPError as exc:
            raise httpx_failure(request, exc) from exc
        return response

    async def open(self, request: httpx.Request) -> Opened:
        try:
            return _HttpxOpened(await self.http.send(request, stream=True))
        except httpx.HTTPError as exc:
            raise httpx_failure(request, exc) from exc

    async def aclose(self) -> None:
        await self.http.aclose()


# ---------------------------------------------------------------- aiohttp


class _AiohttpOpened:
    def __init__(self, raw: aiohttp.ClientResponse, response: httpx.Response) -> None:
        self.raw = raw
        self.response = response

    async def next_chunk(self) -> bytes:
        """The next piece as it came off the socket: no joining of pieces (a copy of every byte)."""
        content = self.raw.content
        try:
            while True:
                chunk, _ = await content.readchunk()
                if chunk or content.at_eof():
                    return chunk
        except _AIOHTTP_ERRORS as exc:
            raise aiohttp_failure(self.response.request, exc) from exc

    async def aclose(self) -> None:
        self.raw.release() if self.raw.content.at_eof() else self.raw.close()


@functools.lru_cache(maxsize=1024)
def env_proxy(scheme: str, host: str) -> str | None:
    """The proxy the environment names for this origin (``HTTPS_PROXY``, ``NO_PROXY``...), read once per host:
    aiohttp's own ``trust_env`` looks it up on a thread for every request."""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)


class AiohttpSender:
    """Sends ``httpx.Request``s with one ``aiohttp.ClientSession`` per event loop (sessions are loop-bound).

    Redirects are followed (result URLs often redirect to a CDN), proxies come from the environment like
    httpx's (read once per host), nothing is decompressed or added behind the dialect's back (no cookies, no
    default headers beyond ``Host`` and the body's length): the request leaves as the dialect built it.
    """

    def __init__(self, *, timeout: float = 60.0, limit: int = 256, verify: ssl.SSLContext | None = None) -> None:
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        self.limit = limit
        self._ssl = verify
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _get(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            if self._ssl is None:
                self._ssl = ssl.create_default_context(cafile=certifi.where())
            self._loop = loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.limit, ssl=self._ssl),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,  # httpx.Response decodes what the headers say, once
                read_bufsize=READ_CHUNK,
                timeout=self.timeout,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        return self._session

    async def _request(self, request: httpx.Request) -> aiohttp.ClientResponse:
        body: Any = request.content or None
        url = request.url
        return await self._get().request(
            request.method,
            yarl.URL(str(url), encoded=True),
            headers=request.headers.multi_items(),
            data=body,
            proxy=env_proxy(url.scheme, url.host),
        )

    @staticmethod
    def _response(raw: aiohttp.ClientResponse, request: httpx.Request, body: bytes | None) -> httpx.Response:
        extensions = {"http_version": b"HTTP/%d.%d" % tuple(raw.version or (1, 1)),
                      "reason_phrase": (raw.reason or "").encode()}  # fmt: skip
        if body is None:
            return httpx.Response(raw.status, headers=raw.raw_headers, request=request, extensions=extensions)
        return httpx.Response(raw.status, headers=raw.raw_headers, content=body, request=request, extensions=extensions)

    async def send(self, request: httpx.Request) -> httpx.Response:
        try:
            raw = await self._request(request)
            async with raw:
                body = await raw.read()
        except _AIOHTTP_ERRORS as exc:
            raise aiohttp_failure(request, exc) from exc
        return self._response(raw, request, body)

    async def open(self, request: httpx.Request) -> Opened:
        try:
            raw = await self._request(request)
        except _AIOHTTP_ERRORS as exc:
            raise aiohttp_failure(request, exc) from exc
        return _AiohttpOpened(raw, self._response(raw, request, None))

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._loop is asyncio.get_running_loop():
            await session.close()  # (a session of a loop that is gone went with it)
