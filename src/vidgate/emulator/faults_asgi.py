"""The fault injector on the wire: an ASGI layer in front of every emulated route.

``EmulatorApp`` is the emulator's Starlette app with this layer outermost, so it sees uvicorn's own
``send`` and can break the real TCP connection:

* ``reset`` writes the headers and part of the body, then closes the socket with ``SO_LINGER 0`` — the
  peer gets a TCP RST (httpx: ``ReadError`` / ``RemoteProtocolError``);
* ``truncate`` writes the headers (``Content-Length`` untouched) and part of the body, then closes cleanly
  (FIN) — the peer sees fewer bytes than announced (httpx: ``RemoteProtocolError``);
* ``drop`` / ``accept_then_drop`` close before any response byte ("Server disconnected without sending a
  response").

The socket is reached through uvicorn's ``RequestResponseCycle`` (``send.__self__.transport``). Under
another server, or an in-process transport such as ``httpx.ASGITransport``, there is no socket: these
faults then raise ``ConnectionAbortedError`` out of the app instead.
"""

from __future__ import annotations

import asyncio
import math
import socket
import struct

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidgate.emulator.fault_plan import FaultRule
from vidgate.emulator.faults import CONTROL_PREFIX, FaultBook
from vidgate.emulator.faults_shapes import error_body
from vidgate.emulator.state import ANY_REQUEST


class _Cut(Exception):
    """Raised out of ``send`` to stop a handler whose response was cut short on purpose."""


class EmulatorApp(Starlette):
    """Starlette with the fault injector outermost. ``app.state.emulator`` must hold the EmulatorState."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = getattr(self.state, "emulator", None)
        if scope["type"] != "http" or state is None or str(scope["path"]).startswith(CONTROL_PREFIX):
            await super().__call__(scope, receive, send)
            return
        state.count(ANY_REQUEST)  # every request a client sent, answered or refused (tests: "nothing was sent")
        await inject(state.faults, self.routes, scope, receive, send, super().__call__)


def route_template(routes: list[BaseRoute], scope: Scope) -> str | None:
    """The path template of the route that will serve this request (``/cdn/{token}.mp4``), if any."""
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            path = getattr(route, "path", None)
            return path if isinstance(path, str) else None
    return None


async def inject(
    book: FaultBook,
    routes: list[BaseRoute],
    scope: Scope,
    receive: Receive,
    send: Send,
    app: ASGIApp,
) -> None:
    """Serve one request through ``app``, applying the first fault rule that fires for it."""
    if not book.plan.rules:
        await app(scope, receive, send)
        return
    method, path = str(scope["method"]), str(scope["path"])
    template = route_template(routes, scope)
    body: bytes | None = None
    if book.wants_body(method, path, template):
        body, receive = await _buffer_body(receive)
    rule = book.pick(method, path, template, body)
    if rule is None:
        await app(scope, receive, send)
        return
    if rule.delay_s:
        await asyncio.sleep(rule.delay_s)
    kind = rule.kind
    if kind == "delay":
        book.record("delay")
        await app(scope, receive, send)
    elif kind == "error":
        book.record(f"error_{rule.status}")
        await send_error(send, rule, path)
    elif kind == "drop":
        book.record("drop")
        if body is None:  # read the request first: closing on unread bytes would make the kernel send RST
            await _buffer_body(receive)
        await close_connection(send, rst=False)
    elif kind in ("accept_then_drop", "accept_then_error"):
        await _accept_then(book, rule, scope, receive, send, app)
    else:
        cutter = _Cutter(book, rule, send)
        try:
            await app(scope, receive, cutter.send)
        except Exception as exc:
            if not cutter.cut or not _is_cut(exc):
                raise


async def _accept_then(
    book: FaultBook, rule: FaultRule, scope: Scope, receive: Receive, send: Send, app: ASGIApp
) -> None:
    """Let the handler run to the end (a create records its job), then drop or replace its answer."""
    held: list[Message] = []

    async def hold(message: Message) -> None:
        held.append(message)

    await app(scope, receive, hold)
    status = next((int(m["status"]) for m in held if m["type"] == "http.response.start"), 500)
    if status >= 300:  # the handler refused the request (nothing recorded): let its answer through
        for message in held:
            await send(message)
        return
    if rule.kind == "accept_then_drop":
        book.record("accept_then_drop")
        await close_connection(send, rst=False)
    else:
        book.record(f"accept_then_error_{rule.status}")
        await send_error(send, rule, str(scope["path"]))


async def send_error(send: Send, rule: FaultRule, path: str) -> None:
    body, ctype = error_body(rule.shape, path, rule.status, rule.message)
    headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
    if rule.retry_after is not None:
        headers.append((b"retry-after", _seconds(rule.retry_after).encode()))
    await send({"type": "http.response.start", "status": rule.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _seconds(value: float) -> str:
    """Retry-After is whole seconds by RFC 9110; a fractional value is sent as is (vidgate parses it)."""
    return str(int(value)) if value == math.floor(value) else f"{value:g}"


class _Cutter:
    """Wraps ``send``: passes headers, then cuts (stall / reset / truncate) the body at ``after_bytes``."""

    def __init__(self, book: FaultBook, rule: FaultRule, send: Send) -> None:
        self.book = book
        self.rule = rule
        self.inner = send
        self.limit: int | None = rule.after_bytes
        self.sent = 0
        self.passthrough = False
        self.cut = False

    async def send(self, message: Message) -> None:
        if self.cut:
            raise _Cut()
        if message["type"] == "http.response.start":
            if int(message["status"]) >= 300:  # only cut successful bodies (downloads, JSON answers)
                self.passthrough = True
            elif self.limit is None:
                length = _content_length(message)
                self.limit = length // 2 if length is not None else 0
            await self.inner(message)
            return
        if self.passthrough or message["type"] != "http.response.body":
            await self.inner(message)
            return
        chunk = bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        room = (self.limit or 0) - self.sent
        if len(chunk) < room or (len(chunk) == room and more) or (not chunk and more):
            self.sent += len(chunk)
            await self.inner(message)
            return
        if room >= len(chunk) and not more:  # the whole body fits before the cut: nothing to break
            self.passthrough = True
            await self.inner(message)
            return
        head, tail = chunk[:room], chunk[room:]
        if head:
            await self.inner({"type": "http.response.body", "body": head, "more_body": True})
        self.sent += len(head)
        kind = self.rule.kind
        self.book.record(kind)
        if kind == "stall":
            await asyncio.sleep(self.rule.stall_s)
            self.passthrough = True
            await self.inner({"type": "http.response.body", "body": tail, "more_body": more})
            return
        self.cut = True
        await close_connection(self.inner, rst=kind == "reset")
        raise _Cut()


def _content_length(message: Message) -> int | None:
    for name, value in message.get("headers", []):
        if bytes(name).lower() == b"content-length":
            return int(value)
    return None


def _is_cut(exc: BaseException) -> bool:
    if isinstance(exc, _Cut):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_cut(e) for e in exc.exceptions)
    return isinstance(exc.__context__, _Cut)


async def close_connection(send: Send, *, rst: bool) -> None:
    """Close the client's TCP connection now: RST (``rst=True``) or a clean FIN after what was written."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if not all(hasattr(transport, name) for name in ("abort", "close", "get_write_buffer_size", "get_extra_info")):
        # (uvloop's transports are not asyncio.WriteTransport subclasses, hence the duck typing)
        raise ConnectionAbortedError("emulated fault: connection closed (no socket under this server)")
    assert transport is not None
    if rst:
        # Let what was written reach the peer first, then abort with SO_LINGER 0: the kernel sends RST.
        for _ in range(200):
            if transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    # Wait for uvicorn's connection_lost so it does not log "ASGI callable returned without ... response".
    for _ in range(400):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0.005)


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body and return it with a ``receive`` that replays it to the handler."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
