"""``AsyncEngine``: the job core and the asyncio driver together — what the worker and the gateway run on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from vidgate.engine.core import Core
from vidgate.net.drive import AsyncDriver
from vidgate.net.steps import Steps

T = TypeVar("T")


@dataclass(frozen=True)
class AsyncEngine:
    core: Core
    driver: AsyncDriver

    async def run(self, steps: Steps[T]) -> T:
        return await self.driver.run(steps)
