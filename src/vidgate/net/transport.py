"""The HTTP transport the asyncio engine sends provider requests with."""

from __future__ import annotations

import httpx


def default_async_transport() -> httpx.AsyncBaseTransport:
    return httpx.AsyncHTTPTransport()
