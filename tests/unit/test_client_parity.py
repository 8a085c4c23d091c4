"""``Client`` and ``AsyncClient`` are two faces of one engine: the same public methods, arguments and defaults.

The only differences allowed: I/O methods are coroutines on ``AsyncClient``, the closing and context-manager
methods follow each world's names, and the transport/sleep seams take each world's types.
"""

from __future__ import annotations

import inspect
from typing import Any

from vidgate.client import AsyncClient, Client

OWN_NAMES = {
    Client: {"close", "__enter__", "__exit__"},
    AsyncClient: {"aclose", "__aenter__", "__aexit__", "engine"},
}
LOCAL_READS = {
    "catalog",
    "store",
    "on_event",
    "on_call",
    "now",
    "job",
    "endpoints",
    "characters",
    "abandon_emulator_jobs",
}  # no network: local reads (and that one local store write)
WORLD_TYPED = {"transport", "sleep"}  # httpx.BaseTransport vs AsyncBaseTransport, time.sleep vs asyncio.sleep


def public(cls: type) -> dict[str, Any]:
    return {n: getattr(cls, n) for n in dir(cls) if not n.startswith("_") or n in OWN_NAMES[cls]}


def shape(fn: Any) -> list[tuple[str, str, Any]]:
    """Each parameter's name, kind and default (annotations are compared apart: the world types differ)."""
    return [(p.name, p.kind.name, p.default) for p in inspect.signature(fn).parameters.values()]


def test_the_same_public_methods() -> None:
    sync = set(public(Client)) - OWN_NAMES[Client]
    aio = set(public(AsyncClient)) - OWN_NAMES[AsyncClient]
    assert sync == aio, f"only on Client: {sorted(sync - aio)}; only on AsyncClient: {sorted(aio - sync)}"


def test_the_same_arguments_and_defaults() -> None:
    for name, fn in public(Client).items():
        if name in OWN_NAMES[Client] or isinstance(fn, property):
            continue
        other = getattr(AsyncClient, name)
        assert shape(fn) == shape(other), f"{name}: {shape(fn)} != {shape(other)}"
        hints, other_hints = inspect.get_annotations(fn), inspect.get_annotations(other)
        for param, annotation in hints.items():
            if param not in WORLD_TYPED:
                assert other_hints.get(param) == annotation, (
                    f"{name}({param}): {annotation} != {other_hints.get(param)}"
                )


def test_io_is_awaitable_and_local_reads_are_not() -> None:
    for name, fn in public(AsyncClient).items():
        if name in OWN_NAMES[AsyncClient] or name.startswith("_") or isinstance(fn, property):
            continue
        if name in LOCAL_READS:
            assert not inspect.iscoroutinefunction(fn), f"AsyncClient.{name} reads locally: not a coroutine"
        else:
            assert inspect.iscoroutinefunction(fn), f"AsyncClient.{name} does I/O: it must be a coroutine"
            assert not inspect.iscoroutinefunction(getattr(Client, name))


def test_the_constructors_take_the_same_configuration() -> None:
    sync = {p.name: p.default for p in inspect.signature(Client.__init__).parameters.values()}
    aio = {p.name: p.default for p in inspect.signature(AsyncClient.__init__).parameters.values()}
    assert sync.keys() == aio.keys()
    assert {k: v for k, v in sync.items() if k not in WORLD_TYPED} == {
        k: v for k, v in aio.items() if k not in WORLD_TYPED
    }
