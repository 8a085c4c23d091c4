"""The effects a sans-IO step generator may ask for, and the helpers that ask for them.

Every operation vidgate performs (a provider flow, a job operation, a download, a guarded fetch of a user's
URL) is a generator that yields *effects* and receives their results. It does no I/O itself, so one
generator runs under both drivers (``vidgate.net.drive``: blocking and asyncio) and is tested with neither.

    effect                    the driver...                                         and resumes with
    httpx.Request             sends it, reads the whole body                        the httpx.Response
    Stream(request)           sends it, leaves the body unread                      the httpx.Response
    Stream(request, guarded=True)  the same through a client with no proxies from the
                              environment and no redirects (user-supplied URLs)
    READ                      reads the next chunk of the open streamed body        bytes (b"" at the end)
    Sleep(seconds)            waits (the injected sleep)                            None
    Write(sink, chunk)        hands bytes to a sink (``write`` / ``awrite``)        None
    Flush(sink)               waits until the sink has written everything           None
    Resolve(host, port)       resolves the name (blocking DNS off the event loop)   list of addresses
    Offload(fn, args)         calls ``fn(*args)`` (on a thread under asyncio)       its result
    Report(value)             hands ``value`` to the driver's ``on_report``         None

A failure of an effect is thrown into the generator at its ``yield``: a network failure as
``vidgate.errors.TransportError``, so an operation can catch it where it knows what it means.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class Stream:
    """Send ``request`` and resume with the response, its body unread (then yield ``READ``)."""

    request: httpx.Request
    guarded: bool = False  # a user-supplied URL: no environment proxies, no redirects followed


class ReadChunk:
    """Resume with the next chunk of the open streamed body, ``b""`` once it has ended."""

    def __repr__(self) -> str:
        return "READ"


READ = ReadChunk()


@dataclass(frozen=True)
class Sleep:
    seconds: float


class Sink(Protocol):
    """Where a download's bytes go: a blocking and an event-loop way to hand them over and to wait."""

    def write(self, chunk: bytes) -> None: ...

    async def awrite(self, chunk: bytes) -> None: ...

    def wait(self) -> None: ...

    async def aflush(self) -> None: ...


@dataclass(frozen=True)
class Write:
    sink: Sink
    chunk: bytes = field(repr=False)


@dataclass(frozen=True)
class Flush:
    sink: Sink


@dataclass(frozen=True)
class Resolve:
    host: str
    port: int


@dataclass(frozen=True)
class Offload:
    """Blocking or CPU-heavy work (probing a video): inline when blocking, on a thread under asyncio."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Report:
    """An intermediate result (e.g. a provider's progress during a streamed create) for whoever listens."""

    value: Any


Effect = httpx.Request | Stream | ReadChunk | Sleep | Write | Flush | Resolve | Offload | Report
Steps = Generator[Effect, Any, T]


def send(request: httpx.Request) -> Steps[httpx.Response]:
    """``response = yield from send(request)``: the response with its body read."""
    response = yield request
    assert isinstance(response, httpx.Response)
    return response


def open_stream(request: httpx.Request, *, guarded: bool = False) -> Steps[httpx.Response]:
    """``response = yield from open_stream(request)``: the response with its body still unread."""
    response = yield Stream(request, guarded)
    assert isinstance(response, httpx.Response)
    return response


def read_chunk() -> Steps[bytes]:
    """The next chunk of the open streamed body; ``b""`` once it has ended."""
    chunk = yield READ
    assert isinstance(chunk, bytes)
    return chunk


def read_rest(limit: int = 1 << 20) -> Steps[bytes]:
    """The rest of the open streamed body (at most ``limit`` bytes kept), e.g. to report an HTTP error."""
    parts: list[bytes] = []
    size = 0
    while chunk := (yield from read_chunk()):
        if size < limit:
            parts.append(chunk[: limit - size])
            size += len(parts[-1])
    return b"".join(parts)


def sleep(seconds: float) -> Steps[None]:
    if seconds > 0:
        yield Sleep(seconds)


def offload(fn: Callable[..., T], *args: Any) -> Steps[T]:
    result = yield Offload(fn, args)
    return result  # type: ignore[no-any-return]


def report(value: Any) -> Steps[None]:
    yield Report(value)


def intercept_reports(steps: Steps[T], on_report: Callable[[Any], None] | None) -> Steps[T]:
    """Run ``steps`` inside another generator, handling its ``Report`` effects here (the rest pass through)."""
    try:
        effect = next(steps)
        while True:
            if isinstance(effect, Report):
                if on_report is not None:
                    on_report(effect.value)
                effect = steps.send(None)
                continue
            try:
                reply = yield effect
            except BaseException as exc:  # a failed effect: the inner generator decides what it means
                effect = steps.throw(exc)
            else:
                effect = steps.send(reply)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
