"""Replay protection: remember accepted ``webhook-id``s for as long as their timestamp is acceptable.

A Standard Webhooks delivery with timestamp ``ts`` passes the window check until ``ts + tolerance``;
after that it is refused as too old anyway. So an id only has to be remembered until then — the set
stays small and bounded by real traffic (only *verified* deliveries are added, so a forger cannot
fill it or poison it with ids of deliveries still to come).

``SeenIds`` is the pluggable contract; ``InMemorySeenIds`` serves one process. Several receiver
processes behind a load balancer may each accept one copy of a duplicate: that is harmless because a
hint only triggers a status fetch and the job store allows exactly one completion per job. Plug a
shared implementation in if even the extra fetch matters.
"""

from __future__ import annotations

import heapq
import threading
from typing import Protocol, runtime_checkable


@runtime_checkable
class SeenIds(Protocol):
    def add(self, key: str, *, now: float, expires_at: float) -> bool:
        """Remember ``key`` until ``expires_at``; True if it was new, False if already remembered (atomic)."""
        ...

    def discard(self, key: str) -> None:
        """Forget ``key`` (the delivery could not be handed on, so its retry must be accepted)."""
        ...


class InMemorySeenIds:
    """Thread-safe seen-set with expiry. When ``max_entries`` is reached the earliest-expiring ids go first."""

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def __contains__(self, key: object) -> bool:
        return key in self._expiry

    def add(self, key: str, *, now: float, expires_at: float) -> bool:
        with self._lock:
            self._purge(now)
            if key in self._expiry:
                return False
            while len(self._expiry) >= self.max_entries and self._heap:
                self._pop_one()
            self._expiry[key] = expires_at
            heapq.heappush(self._heap, (expires_at, key))
            return True

    def discard(self, key: str) -> None:
        with self._lock:
            self._expiry.pop(key, None)  # its heap entry is skipped lazily

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            self._pop_one()

    def _pop_one(self) -> None:
        expires_at, key = heapq.heappop(self._heap)
        if self._expiry.get(key) == expires_at:
            del self._expiry[key]
