"""``Http11Transport``: a lean HTTP/1.1 keep-alive transport for ``httpx.AsyncClient``, for many small API calls.

    AsyncClient(transport=Http11Transport())   # e.g. a worker tracking thousands of jobs

httpx's default transport (httpcore on anyio) spends most of a small request's CPU time in its pool
bookkeeping: every request walks every pooled connection and asks the socket layer whether it expired.
This transport keeps a plain last-in-first-out list of idle connections per origin on asyncio streams and
parses responses itself, for roughly a third of the CPU time per status check (``make bench``,
docs/benchmarks.md). Everything above the transport — redirects, auth, timeouts configuration, event
hooks, proxies from the environment (httpx mounts proxy transports ahead of this one) — is httpx's.

What it does: http and https (TLS through ``httpx.create_ssl_context``), request bodies as bytes or
streamed (Content-Length or chunked, as httpx framed them), responses framed by Content-Length, chunked
encoding or connection close, bodies up to 256 KiB read at once and larger ones streamed (downloads keep
constant memory), ``Connection: close`` honoured, 1xx answers skipped, the request's connect / read /
write timeouts. Errors are httpx's (``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError``...), so
callers cannot tell the transports apart. A GET or HEAD that finds its reused idle connection closed by the
server before any answer byte is sent again once on a new connection; other methods never are (a create
must not be sent twice). Not supported: HTTP/2, upgrades, unix sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

EAGER_BODY_MAX = 256 * 1024
CHUNK = 1024 * 1024  # the most one read of a streamed body returns (asyncio buffers up to 2 x HEADER_LIMIT)
HEADER_LIMIT = 256 * 1024
_IDEMPOTENT = (b"GET", b"HEAD")
_NO_BODY_STATUS = (204, 304)


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass
class _Timeouts:
    connect: float | None = None
    read: float | None = None
    write: float | None = None

    @classmethod
    def of(cls, request: httpx.Request) -> _Timeouts:
        t: dict[str, Any] = request.extensions.get("timeout") or {}
        return cls(t.get("connect"), t.get("read"), t.get("write"))


class _Stale(Exception):
    """A reused connection was closed by the server before it answered: safe to send again (GET/HEAD)."""


@dataclass
class _Head:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    version: bytes
    keep_alive: bool
    length: int | None
    chunked: bool


@dataclass
class Http11Transport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 over asyncio streams. ``max_idle_per_origin`` idle connections are kept per origin."""

    max_idle_per_origin: int = 256
    verify: ssl.SSLContext | bool = True
    _idle: dict[tuple[str, str, int], list[_Conn]] = field(default_factory=dict, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _ssl: ssl.SSLContext | None = field(default=None, init=False, repr=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that opened them
            self._drop_idle()
            self._loop = loop
        timeouts = _Timeouts.of(request)
        payload = await _request_bytes(request)
        conn = await self._connection(request, timeouts)
        try:
            return await self._exchange(conn, request, payload, timeouts)
        except _Stale:
            conn = await self._connection(request, timeouts, fresh=True)
            try:
                return await self._exchange(conn, request, payload, timeouts)
            except _Stale:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.") from None

    async def aclose(self) -> None:
        self._drop_idle()

    # ------------------------------------------------------------------ connections

    def _origin(self, url: httpx.URL) -> tuple[str, str, int]:
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.")
        return scheme, url.host, url.port or (443 if scheme == "https" else 80)

    async def _connection(self, request: httpx.Request, timeouts: _Timeouts, fresh: bool = False) -> _Conn:
        origin = self._origin(request.url)
        idle = self._idle.get(origin)
        while idle and not fresh:
            conn = idle.pop()
            if not conn.reader.at_eof() and not conn.writer.is_closing():
                conn.reused = True
                return conn
            conn.close()
        scheme, host, port = origin
        tls = self._tls() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeouts.connect):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=HEADER_LIMIT
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"Timed out connecting to {host}:{port}.", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(f"{exc.__class__.__name__}: {exc}", request=request) from exc
        return _Conn(reader, writer)

    def _release(self, origin: tuple[str, str, int], conn: _Conn) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) < self.max_idle_per_origin and not conn.writer.is_closing():
            idle.append(conn)
        else:
            conn.close()

    def _drop_idle(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = self.verify if isinstance(self.verify, ssl.SSLContext) else httpx.create_ssl_context(self.verify)
            context.set_alpn_protocols(["http/1.1"])
            self._ssl = context
        return self._ssl

    # ------------------------------------------------------------------ one exchange

    async def _exchange(
        self, conn: _Conn, request: httpx.Request, payload: bytes | AsyncIterator[bytes], timeouts: _Timeouts
    ) -> httpx.Response:
        retry_ok = conn.reused and request.method.encode() in _IDEMPOTENT and isinstance(payload, bytes)
        try:
            await self._send(conn, request, payload, timeouts)
            head = await self._read_head(conn, request, timeouts, retry_ok)
        except BaseException:
            conn.close()
            raise
        origin = self._origin(request.url)
        if request.method == "HEAD" or head.status in _NO_BODY_STATUS or (head.length == 0 and not head.chunked):
            if head.keep_alive:
                self._release(origin, conn)
            else:
                conn.close()
            return _response(head, b"", request)
        if head.length is not None and head.length <= EAGER_BODY_MAX and not head.chunked:
            try:
                body = await _read(conn.reader.readexactly(head.length), timeouts, request)
            except BaseException:
                conn.close()
                raise
            self._release(origin, conn) if head.keep_alive else conn.close()
            return _response(head, body, request)
        return _response(head, _Body(self, origin, conn, head, timeouts, request), request)

    async def _send(
        self, conn: _Conn, request: httpx.Request, payload: bytes | AsyncIterator[bytes], timeouts: _Timeouts
    ) -> None:
        url = request.url
        head = [request.method.encode(), b" ", url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"\r\n")
        writer = conn.writer
        try:
            async with asyncio.timeout(timeouts.write):
                if isinstance(payload, bytes):
                    writer.write(b"".join(head) + payload)
                else:
                    writer.write(b"".join(head))
                    chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
                    async for chunk in payload:
                        if chunked and chunk:
                            writer.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                        elif chunk:
                            writer.write(chunk)
                        await writer.drain()
                    if chunked:
                        writer.write(b"0\r\n\r\n")
                if writer.transport.get_write_buffer_size():
                    await writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("Timed out sending the request.", request=request) from None
        except (ConnectionError, OSError) as exc:
            if conn.reused and request.method.encode() in _IDEMPOTENT and isinstance(payload, bytes):
                raise _Stale from exc
            raise httpx.WriteError(f"{exc.__class__.__name__}: {exc}", request=request) from exc

    async def _read_head(self, conn: _Conn, request: httpx.Request, timeouts: _Timeouts, retry_ok: bool) -> _Head:
        while True:
            try:
                raw = await _read(conn.reader.readuntil(b"\r\n\r\n"), timeouts, request)
            except asyncio.IncompleteReadError as exc:
                if not exc.partial and retry_ok:
                    raise _Stale from exc
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ) from exc
            except asyncio.LimitOverrunError as exc:
                raise httpx.RemoteProtocolError("The response headers are too large.", request=request) from exc
            except (ConnectionError, OSError) as exc:
                if retry_ok:
                    raise _Stale from exc
                raise httpx.ReadError(f"{exc.__class__.__name__}: {exc}", request=request) from exc
            head = _parse_head(raw, request)
            if not 100 <= head.status < 200:
                return head
            retry_ok = False  # an informational answer came: the server is there; wait for the final one


class _Body(httpx.AsyncByteStream):
    """A streamed response body; gives the connection back to the pool once read to its end."""

    def __init__(
        self,
        transport: Http11Transport,
        origin: tuple[str, str, int],
        conn: _Conn,
        head: _Head,
        timeouts: _Timeouts,
        request: httpx.Request,
    ) -> None:
        self._transport, self._origin, self._conn, self._head = transport, origin, conn, head
        self._timeouts, self._request = timeouts, request
        self._finished = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reader, head = self._conn.reader, self._head
        try:
            if head.chunked:
                async for chunk in self._chunks(reader):
                    yield chunk
            elif head.length is not None:
                left = head.length
                while left:
                    chunk = await _read(reader.read(min(CHUNK, left)), self._timeouts, self._request)
                    if not chunk:
                        raise httpx.RemoteProtocolError(
                            f"The server closed the connection {left} bytes before the end of the body.",
                            request=self._request,
                        )
                    left -= len(chunk)
                    yield chunk
            else:
                while chunk := await _read(reader.read(CHUNK), self._timeouts, self._request):
                    yield chunk
                head.keep_alive = False
        except (ConnectionError, OSError) as exc:
            raise httpx.ReadError(f"{exc.__class__.__name__}: {exc}", request=self._request) from exc
        self._finished = True

    async def _chunks(self, reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        try:
            while True:
                line = await _read(reader.readuntil(b"\r\n"), self._timeouts, self._request)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while (await _read(reader.readuntil(b"\r\n"), self._timeouts, self._request)) != b"\r\n":
                        pass  # trailers
                    return
                left = size
                while left:
                    chunk = await _read(reader.read(min(CHUNK, left)), self._timeouts, self._request)
                    if not chunk:
                        raise asyncio.IncompleteReadError(b"", left)
                    left -= len(chunk)
                    yield chunk
                await _read(reader.readexactly(2), self._timeouts, self._request)
        except (asyncio.IncompleteReadError, ValueError) as exc:
            raise httpx.RemoteProtocolError(
                "The chunked response body ended early or is malformed.", request=self._request
            ) from exc

    async def aclose(self) -> None:
        if self._finished and self._head.keep_alive:
            self._transport._release(self._origin, self._conn)
        else:
            self._conn.close()  # not read to its end: the connection's state is unknown


async def _read(awaitable: Any, timeouts: _Timeouts, request: httpx.Request) -> Any:
    try:
        async with asyncio.timeout(timeouts.read):
            return await awaitable
    except TimeoutError:
        raise httpx.ReadTimeout("Timed out waiting for the server's answer.", request=request) from None


async def _request_bytes(request: httpx.Request) -> bytes | AsyncIterator[bytes]:
    """The body as bytes when httpx already holds it, else the stream to send as it comes."""
    try:
        return request.content
    except httpx.RequestNotRead:
        stream = request.stream
        if isinstance(stream, httpx.AsyncByteStream):
            return stream.__aiter__()
        raise RuntimeError("Http11Transport needs an async request body (use httpx.AsyncClient).") from None


def _parse_head(raw: bytes, request: httpx.Request) -> _Head:
    lines = raw[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    try:
        version, status = parts[0], int(parts[1])
    except (IndexError, ValueError):
        raise httpx.RemoteProtocolError(f"Malformed status line {lines[0][:80]!r}.", request=request) from None
    if not version.startswith(b"HTTP/1."):
        raise httpx.RemoteProtocolError(f"Unsupported HTTP version {version[:20]!r}.", request=request)
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    keep_alive = version == b"HTTP/1.1"
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise httpx.RemoteProtocolError(f"Malformed header line {line[:80]!r}.", request=request)
        name, value = name.strip(), value.strip()
        headers.append((name, value))
        lower = name.lower()
        if lower == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise httpx.RemoteProtocolError(f"Bad Content-Length {value[:40]!r}.", request=request) from None
        elif lower == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif lower == b"connection":
            tokens = value.lower()
            if b"close" in tokens:
                keep_alive = False
            elif b"keep-alive" in tokens:
                keep_alive = True
    if length is None and not chunked and status not in _NO_BODY_STATUS and request.method != "HEAD":
        keep_alive = False  # the body ends when the server closes the connection
    return _Head(status, parts[2] if len(parts) > 2 else b"", headers, version, keep_alive, length, chunked)


def _response(head: _Head, body: bytes | httpx.AsyncByteStream, request: httpx.Request) -> httpx.Response:
    extensions = {"http_version": head.version, "reason_phrase": head.reason}
    if isinstance(body, bytes):
        return httpx.Response(head.status, headers=head.headers, content=body, extensions=extensions, request=request)
    return httpx.Response(head.status, headers=head.headers, stream=body, extensions=extensions, request=request)
