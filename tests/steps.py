"""Run a step generator (``vidgate.net.steps``) in a test with either of vidgate's drivers."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from vidgate.net.drive import AsyncDriver, BlockingDriver
from vidgate.net.steps import Steps
from vidgate.net.transport import AiohttpSender, HttpxSender

T = TypeVar("T")


def run_blocking(steps: Steps[T], transport: httpx.BaseTransport | None = None, **kwargs: Any) -> T:
    driver = BlockingDriver(httpx.Client(transport=transport), **kwargs)
    try:
        return driver.run(steps)
    finally:
        driver.close()


async def run_async(steps: Steps[T], transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any) -> T:
    sender = AiohttpSender() if transport is None else HttpxSender(httpx.AsyncClient(transport=transport))
    driver = AsyncDriver(sender, **kwargs)
    try:
        return await driver.run(steps)
    finally:
        await driver.aclose()
