"""A response whose framing is wrong is a ``TransportError``, never a silent short or merged body, never a bare
``ValueError``: both drivers, read whole and streamed, against a raw loopback server that answers byte for byte."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.steps import run_async, run_blocking
from vidgate.errors import TransportError
from vidgate.net.steps import Steps, open_stream, read_rest, send

ANSWERS = {
    "two-different-content-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 10\r\n\r\nhello",
    "negative-content-length": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello",
    "content-length-list": b"HTTP/1.1 200 OK\r\nContent-Length: 5, 10\r\n\r\nhello",
    "truncated-by-close": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly twenty bytes...",
    "chunked-cut-before-the-end": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nwor",
    "bad-chunk-size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "garbage-status-line": b"HTP/1.1 2OO OK\r\n\r\n",
}


class RawServer:
    """Answers every connection with ``ANSWERS[path]`` and closes it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    data = conn.recv(4096)
                    if not data:
                        break
                    request += data
                path = request.split(b" ", 2)[1].decode().strip("/") if request else ""
                conn.sendall(ANSWERS.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    srv = RawServer()
    yield srv
    srv.close()


def whole(url: str) -> Steps[httpx.Response]:
    return (yield from send(httpx.Request("GET", url)))


def streamed(url: str) -> Steps[bytes]:
    yield from open_stream(httpx.Request("GET", url))
    return (yield from read_rest())


def blocking(steps: Steps[Any]) -> Any:
    return run_blocking(steps)


def in_loop(steps: Steps[Any]) -> Any:
    return asyncio.run(run_async(steps))  # the engine's default sender: aiohttp


@pytest.mark.parametrize("case", sorted(ANSWERS))
@pytest.mark.parametrize("how", [whole, streamed], ids=["read", "streamed"])
@pytest.mark.parametrize("run", [blocking, in_loop], ids=["blocking", "asyncio"])
def test_bad_framing_is_a_transport_error(server: RawServer, case: str, how: Any, run: Any) -> None:
    with pytest.raises(TransportError) as info:
        run(how(f"{server.url}/{case}"))
    assert info.value.provider == "127.0.0.1"
    assert not info.value.not_sent or case == "garbage-status-line"


def test_which_httpx_failures_mean_the_request_never_left() -> None:
    """A create that failed before it left may be sent again safely; one that may have arrived may not."""
    from vidgate.net.transport import httpx_failure

    request = httpx.Request("POST", "https://api.example/v1/videos")
    for never_left in (httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")):
        assert httpx_failure(request, never_left).not_sent, never_left
    for maybe_arrived in (httpx.ReadTimeout("late"), httpx.WriteTimeout("half"), httpx.RemoteProtocolError("cut")):
        assert not httpx_failure(request, maybe_arrived).not_sent, maybe_arrived
