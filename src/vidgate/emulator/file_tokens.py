"""File ids behind the emulator's download URLs, and the signed, expiring tokens minted for them.

Dialects put ``job.file_token`` into their result URLs (``/cdn/{token}.mp4``). Without a URL lifetime the
token is the job's plain ``file_id``. With ``FaultPlan.url_ttl_s`` set, every read of ``job.file_token``
mints ``{file_id}-{expires_ms}-{sig}`` (HMAC over id and expiry), so each status response carries a fresh
URL that stops working ``url_ttl_s`` later — the way signed CDN links behave.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from typing import Generic, Literal, TypeVar

J = TypeVar("J")
Problem = Literal["", "unknown", "expired", "unsigned", "signature"]


class FileIndex(Generic[J]):
    """``file_id -> job``; lookups accept plain ids and minted tokens (``get(token)`` as with a dict)."""

    def __init__(self, clock: Callable[[], float], ttl: Callable[[], float | None]) -> None:
        self._clock = clock
        self._ttl = ttl
        self._secret = secrets.token_bytes(16)
        self._jobs: dict[str, J] = {}

    # -- minting ------------------------------------------------------------------------------------
    def mint(self, file_id: str) -> str:
        """The token to put in a URL now: the plain id, or a signed one expiring ``url_ttl_s`` from now."""
        ttl = self._ttl()
        if ttl is None:
            return file_id
        expires_ms = int((self._clock() + ttl) * 1000)
        return f"{file_id}-{expires_ms}-{self._sign(file_id, expires_ms)}"

    def _sign(self, file_id: str, expires_ms: int) -> str:
        return hmac.new(self._secret, f"{file_id}.{expires_ms}".encode(), hashlib.sha256).hexdigest()[:20]

    def resolve(self, token: str) -> tuple[J | None, Problem, float]:
        """The job behind ``token``, what is wrong with the token (``""`` when nothing) and, for an expired
        token, how many seconds ago it expired."""
        file_id, _, rest = token.partition("-")
        job = self._jobs.get(file_id)
        if job is None:
            return None, "unknown", 0.0
        if not rest:
            return (job, "", 0.0) if self._ttl() is None else (job, "unsigned", 0.0)
        expires, _, sig = rest.partition("-")
        if not expires.isdigit() or not hmac.compare_digest(sig, self._sign(file_id, int(expires))):
            return job, "signature", 0.0
        late = self._clock() - int(expires) / 1000
        return (job, "expired", late) if late > 0 else (job, "", 0.0)

    # -- the dict-like surface dialects use -------------------------------------------------------------
    def __setitem__(self, file_id: str, job: J) -> None:
        self._jobs[file_id] = job

    def get(self, token: str, default: J | None = None) -> J | None:
        job, problem, _ = self.resolve(token)
        return job if job is not None and not problem else default

    def __getitem__(self, token: str) -> J:
        job = self.get(token)
        if job is None:
            raise KeyError(token)
        return job

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self.get(token) is not None

    def pop(self, token: str, default: J | None = None) -> J | None:
        file_id = token.partition("-")[0]
        return self._jobs.pop(file_id, default)

    def clear(self) -> None:
        self._jobs.clear()

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._jobs))
