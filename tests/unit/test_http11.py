"""Http11Transport against a scripted loopback server: framing, keep-alive, retries, timeouts, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from vidgate.net.http11 import Http11Transport

Handler = Callable[[bytes, bytes, asyncio.StreamWriter, int], Awaitable[bool]]  # -> keep the connection open


class Scripted:
    """A loopback HTTP/1.1 server whose answer to each request is written by ``handler`` byte by byte."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []

    async def __aenter__(self) -> Scripted:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                body = b""
                lower = head.lower()
                if b"content-length:" in lower:
                    length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
                    body = await reader.readexactly(length)
                elif b"transfer-encoding: chunked" in lower:
                    while (size := int((await reader.readuntil(b"\r\n")).strip(), 16)) != 0:
                        body += await reader.readexactly(size)
                        await reader.readexactly(2)
                    await reader.readexactly(2)
                self.requests.append((head, body))
                if not await self.handler(head, body, writer, number):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNKED_BODY = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nT: x\r\n\r\n"  # a chunk extension and a trailer


def ok(body: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%b\r\n%b" % (
        len(body),
        b"".join(e + b"\r\n" for e in extra),
        body,
    )


async def answer(data: bytes, writer: asyncio.StreamWriter, keep: bool = True) -> bool:
    writer.write(data)
    await writer.drain()
    return keep


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_json_answers_reuse_one_connection() -> None:
    async def handler(head: bytes, body: bytes, w: asyncio.StreamWriter, n: int) -> bool:
        return await answer(ok(json.dumps({"path": head.split(b" ")[1].decode()}).encode(), b"X-Id: 7"), w)

    async def go() -> None:
        async with Scripted(handler) as srv, httpx.AsyncClient(transport=Http11Transport(), base_url=srv.url) as c:
            for i in range(3):
                r = await c.get(f"/v1/videos/{i}?x=1", headers={"Authorization": "Bearer k"})
                assert r.status_code == 200 and r.json() == {"path": f"/v1/videos/{i}?x=1"}
                assert r.headers["x-id"] == "7" and r.http_version == "HTTP/1.1"
            assert srv.connections == 1
            assert b"authorization: Bearer k" in srv.requests[0][0].lower().replace(b"bearer", b"Bearer")

    run(go())


def test_chunked_close_delimited_and_connection_close_bodies() -> None:
    async def handler(head: bytes, body: bytes, w: asyncio.StreamWriter, n: int) -> bool:
        path = head.split(b" ")[1]
        if path == b"/chunked":
            return await answer(CHUNKED_HEAD + CHUNKED_BODY, w)
        if path == b"/close":
            return await answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", w, keep=False)
        return await answer(b"HTTP/1.0 200 OK\r\n\r\nuntil the end", w, keep=False)

    async def go() -> None:
        async with Scripted(handler) as srv, httpx.AsyncClient(transport=Http11Transport(), base_url=srv.url) as c:
            assert (await c.get("/chunked")).text == "hello world"
            assert (await c.get("/chunked")).text == "hello world"
            assert srv.connections == 1  # chunked bodies keep the connection
            assert (await c.get("/close")).text == "ok"
            assert (await c.get("/eof")).text == "until the end"
            assert (await c.get("/chunked")).text == "hello world"
            assert srv.connections == 3  # /close and /eof ended theirs: a new one for the last

    run(go())


def test_a_get_on_a_connection_the_server_dropped_is_sent_again_a_post_never() -> None:
    async def handler(head: bytes, body: bytes, w: asyncio.StreamWriter, n: int) -> bool:
        if n == 1 and len(srv.requests) > 1:
            return False  # the first connection dies after one answer: close without answering
        return await answer(ok(b"fine"), w)

    async def go() -> None:
        global srv
        async with Scripted(handler) as srv, httpx.AsyncClient(transport=Http11Transport(), base_url=srv.url) as c:
            assert (await c.get("/a")).text == "fine"
            assert (await c.get("/b")).text == "fine"  # sent twice: dropped, then on a new connection
            assert [h.split(b" ")[1] for h, _ in srv.requests] == [b"/a", b"/b", b"/b"]
        async with Scripted(handler) as srv, httpx.AsyncClient(transport=Http11Transport(), base_url=srv.url) as c:
            assert (await c.post("/create", content=b"{}")).text == "fine"
            with pytest.raises(httpx.RemoteProtocolError):
                await c.post("/create", content=b"{}")
            assert len(srv.requests) == 2  # never resent: the server may have acted on it

    run(go())


srv: Scripted


def test_timeouts_and_refused_connections_are_httpx_errors() -> None:
    async def handler(head: bytes, body: bytes, w: asyncio.StreamWriter, n: int) -> bool:
        await asyncio.sleep(1)
        return False

    async def go() -> None:
        async with Scripted(handler) as s:
            url = s.url
            async with httpx.AsyncClient(transport=Http11Transport(), timeout=0.1) as c:
                with pytest.raises(httpx.ReadTimeout):
                    await c.get(url + "/slow")
        async with httpx.AsyncClient(transport=Http11Transport()) as c:
            with pytest.raises(httpx.ConnectError):
                await c.get(url + "/gone")  # the server is closed now
            with pytest.raises(httpx.UnsupportedProtocol):
                await c.get("ftp://127.0.0.1/x")

    run(go())


def test_big_bodies_stream_and_an_abandoned_stream_closes_its_connection() -> None:
    big = bytes(range(256)) * 4096  # 1 MiB

    async def handler(head: bytes, body: bytes, w: asyncio.StreamWriter, n: int) -> bool:
        return await answer(ok(big), w)

    async def go() -> None:
        async with Scripted(handler) as srv, httpx.AsyncClient(transport=Http11Transport(), base_url=srv.url) as c:
            async with c.stream("GET", "/video") as r:
                chunks = [chunk async for chunk in r.aiter_raw()]
            assert b"".join(chunks) == big and max(len(x) for x in chunks) <= 1024 * 1024
            async with c.stream("GET", "/video") as r:
                async for _ in r.aiter_raw():
                    break  # read one chunk only
            assert (await c.get("/video")).content == big
            assert srv.connections == 2  # the abandoned stream's connection was not reused

    run(go())


def test_streamed_request_bodies_informational_answers_and_bodiless_answers() -> None:
    async def handler(head: bytes, body: bytes, w: asyncio.StreamWriter, n: int) -> bool:
        path = head.split(b" ")[1]
        if path == b"/upload":
            return await answer(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"got %d" % len(body)), w)
        if path == b"/none":
            return await answer(b"HTTP/1.1 204 No Content\r\n\r\n", w)
        return await answer(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", w)  # HEAD: no body follows

    async def parts() -> AsyncIterator[bytes]:
        for piece in (b"abc", b"", b"defg"):
            yield piece

    async def go() -> None:
        async with Scripted(handler) as srv, httpx.AsyncClient(transport=Http11Transport(), base_url=srv.url) as c:
            assert (await c.post("/upload", content=parts())).text == "got 7"
            assert srv.requests[-1][1] == b"abcdefg"
            assert (await c.get("/none")).status_code == 204
            head = await c.head("/x")
            assert head.headers["content-length"] == "99" and head.content == b""
            assert (await c.get("/none")).status_code == 204 and srv.connections == 1

    run(go())


def test_malformed_answers_are_protocol_errors() -> None:
    async def handler(head: bytes, body: bytes, w: asyncio.StreamWriter, n: int) -> bool:
        return await answer(b"SPDY/9 200 OK\r\n\r\n", w, keep=False)

    async def go() -> None:
        async with Scripted(handler) as srv, httpx.AsyncClient(transport=Http11Transport(), base_url=srv.url) as c:
            with pytest.raises(httpx.RemoteProtocolError):
                await c.get("/")

    run(go())
