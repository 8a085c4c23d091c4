"""The result storage contract: where finished videos and their preview images live.

Two implementations keep it (``tests/contract/test_storage_contract.py`` runs one suite on both):
``LocalStorage`` (a directory: the embedded default) and ``S3Storage`` (any S3-compatible object store).

Rules every implementation keeps:

* Keys are deterministic per job and asset (``key_for``): a download that starts again — after a break, or on
  another worker after a crash — writes the same key, so a result is never stored twice.
* A writer streams with constant memory and hashes on the way; the object appears only when ``finish`` says
  it is whole (size as announced, the expected kind of content). Until then readers see the previous object
  or none; ``abort`` leaves nothing behind (S3: the multipart upload is aborted).
* ``location(key)`` is what a job's record keeps (``Asset.path``): a file path, or ``s3://bucket/key``;
  ``key_of(location)`` maps it back (None: not in this storage).
* ``read(key, start, end)`` streams a byte range (inclusive ``end``, None: to the end); ``presign`` gives a
  short-lived URL a client can fetch the object from directly (None: the storage has none, serve it here).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidgate.errors import DownloadError

Sniffer = Callable[[bytes], str | None]  # the content type from the first bytes, None when not acceptable
HEAD_BYTES = 64


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str | None = None


class ObjectWriter(ABC):
    """Takes a download's bytes (the ``vidgate.net.steps.Sink`` protocol: ``write``/``awrite``/``wait``/
    ``aflush``), hashes them on a thread of its own, and stores them under ``key`` when ``finish`` says so.

    Subclasses move whole batches (``_store_batch``) on one more thread, behind the hashing; at most
    ``DEPTH`` batches are in flight, so memory stays at about ``(DEPTH + 1) * batch`` bytes whatever the size.
    """

    DEPTH = 2

    def __init__(self, key: str, sniff: Sniffer, what: str, batch_bytes: int) -> None:
        self.key = key
        self.sniff = sniff
        self.what = what  # "a video" / "an image", for the error when the bytes are something else
        self.batch_bytes = batch_bytes
        self.size = 0
        self.peak_held = 0  # the most bytes handed over and not yet stored: what this writer kept in memory
        self._moved = 0  # bytes stored (written by the mover thread only)
        self.mime: str | None = None
        self._head = b""
        self._sha = hashlib.sha256()
        self._batch: list[bytes] = []
        self._batched = 0
        self._pending: list[Future[Any]] = []
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidgate-store-hash")
        self._mover = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidgate-store-move")

    # -------------------------------------------------------------- the Sink protocol

    def write(self, chunk: bytes) -> None:
        self._hand_over(chunk)
        while len(self._pending) > 2 * self.DEPTH:
            self._pending.pop(0).result()

    async def awrite(self, chunk: bytes) -> None:
        self._hand_over(chunk)
        while self._pending and self._pending[0].done():
            self._pending.pop(0).result()
        while len(self._pending) > 2 * self.DEPTH:
            await asyncio.wrap_future(self._pending[0])
            self._pending.pop(0).result()

    def wait(self) -> None:
        """Until every byte handed over is hashed (and every full batch stored)."""
        self._drain()

    async def aflush(self) -> None:
        while self._pending:
            await asyncio.wrap_future(self._pending[0])
            self._pending.pop(0).result()

    def _drain(self) -> None:
        while self._pending:
            self._pending.pop(0).result()

    def _hand_over(self, chunk: bytes) -> None:
        if not chunk:
            return
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        self.size += len(chunk)
        self.peak_held = max(self.peak_held, self.size - self._moved)
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= self.batch_bytes:
            self._submit(last=False)

    def _submit(self, *, last: bool) -> None:
        if not self._batch and not last:
            return
        batch, self._batch, self._batched = self._batch, [], 0
        if batch:
            self._pending.append(self._hasher.submit(_hash_all, self._sha, batch))
        self._pending.append(self._mover.submit(self._move, batch, last))

    def _move(self, batch: list[bytes], last: bool) -> None:
        self._store_batch(batch, last)
        self._moved += sum(map(len, batch))

    # -------------------------------------------------------------- the end

    def restart(self) -> None:
        """The server sent the whole file again: start over (what was stored so far is dropped)."""
        self._batch, self._batched = [], 0
        self._drain()
        self._discard()
        self._sha = hashlib.sha256()
        self.size = self._moved = 0
        self._head = b""

    def finish(self, expected_size: int | None) -> tuple[str, int]:
        """Check the bytes are whole and of the expected kind, then make the object appear: (sha256, size)."""
        self._drain()
        if expected_size is not None and self.size != expected_size:
            self.abort()
            raise DownloadError(f"download ended early: {self.size} of {expected_size} bytes")
        self.mime = self.sniff(self._head)
        if self.mime is None:
            self.abort()
            raise DownloadError(f"the result is not {self.what} (first bytes {self._head[:16]!r})")
        try:
            self._submit(last=True)
            self._drain()
            self._commit(self._sha.hexdigest(), self.mime)
        except BaseException:
            self.abort()
            raise
        self._shutdown()
        return self._sha.hexdigest(), self.size

    def abort(self) -> None:
        try:
            self._batch = []
            for future in self._pending:
                future.exception()  # waited for; its failure is not the one to report
            self._pending = []
            self._discard()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self._hasher.shutdown()
        self._mover.shutdown()

    @abstractmethod
    def _store_batch(self, batch: list[bytes], last: bool) -> None:
        """Move ``batch`` towards the object (on the mover thread, in order); ``last``: no more will come."""

    @abstractmethod
    def _commit(self, sha256: str, content_type: str) -> None:
        """Make the object appear under ``key`` (everything is stored)."""

    @abstractmethod
    def _discard(self) -> None:
        """Drop what was stored so far (nothing may appear under ``key`` from this writer)."""


def _hash_all(sha: Any, chunks: list[bytes]) -> None:
    for chunk in chunks:
        sha.update(chunk)


class ResultStorage(ABC):
    """Where results are kept; ``url`` names it (``file:///dir`` or ``s3://bucket/prefix``)."""

    url: str
    #: whether clients should be sent to ``presign`` rather than served by the gateway
    redirects: bool = False

    @staticmethod
    def key_for(job_id: str, kind: str = "video", extension: str = "mp4") -> str:
        """The one key of a job's asset (``job_x.mp4``, ``job_x.thumbnail.webp``): the same on every worker."""
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in job_id).lstrip(".") or "job"
        return f"{safe}.{extension}" if kind == "video" else f"{safe}.{kind}.{extension}"

    @abstractmethod
    def location(self, key: str) -> str:
        """What a job's record keeps for ``key``: a file path, or ``s3://bucket/prefix/key``."""

    @abstractmethod
    def key_of(self, location: str) -> str | None:
        """The key of a location this storage wrote; None when it is not one of this storage's."""

    @abstractmethod
    def writer(self, key: str, sniff: Sniffer, what: str = "a video") -> ObjectWriter:
        """A writer that stores a download under ``key`` (see ``ObjectWriter``)."""

    @abstractmethod
    def stat(self, key: str) -> StoredObject | None:
        """Size and type of the object, or None when there is none."""

    @abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start..end`` (inclusive; None: to the end), in chunks of constant size."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the object (and any unfinished upload of it). False: there was none."""

    def presign(
        self, key: str, ttl_s: int, *, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        """A URL that fetches the object without credentials for ``ttl_s`` seconds; None: not offered."""
        return None

    def keys(self) -> list[str]:
        """Every stored key (tests and housekeeping; not for hot paths)."""
        return []

    def copy_to(self, key: str, path: Path) -> tuple[str, int]:
        """Stream the object into the file ``path`` (through a part file, renamed when whole): (sha256, size)."""
        sha, size = hashlib.sha256(), 0
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with part.open("wb") as fh:
                for chunk in self.read(key):
                    fh.write(chunk)
                    sha.update(chunk)
                    size += len(chunk)
            os.replace(part, path)
        finally:
            part.unlink(missing_ok=True)
        return sha.hexdigest(), size

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class RangeFile:
    """A read-only, seekable file over ``storage.read`` ranges: PyAV probes a stored video through it without
    a local copy (it reads the header and the index, a few hundred KiB, not the whole file)."""

    BLOCK = 256 * 1024

    def __init__(self, storage: ResultStorage, key: str, size: int) -> None:
        self.storage = storage
        self.key = key
        self.size = size
        self.pos = 0
        self._cache: dict[int, bytes] = {}

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = self.size - self.pos
        n = max(0, min(n, self.size - self.pos))
        out = bytearray()
        while n > 0:
            block = self.pos // self.BLOCK
            data = self._block(block)
            offset = self.pos - block * self.BLOCK
            piece = data[offset : offset + n]
            if not piece:
                break
            out += piece
            self.pos += len(piece)
            n -= len(piece)
        return bytes(out)

    def _block(self, block: int) -> bytes:
        data = self._cache.get(block)
        if data is None:
            start = block * self.BLOCK
            end = min(self.size, start + self.BLOCK) - 1
            data = b"".join(self.storage.read(self.key, start, end))
            if len(self._cache) > 16:
                self._cache.pop(next(iter(self._cache)))
            self._cache[block] = data
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True
