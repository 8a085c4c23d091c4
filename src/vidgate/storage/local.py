"""Results in a local directory (the embedded default): one file per job asset, written through a part file
and renamed into place when whole, so a reader never sees half a video."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from vidgate.storage.base import ObjectWriter, ResultStorage, Sniffer, StoredObject

CHUNK = 1 << 20
_TYPES = {".mp4": "video/mp4", ".webp": "image/webp", ".jpg": "image/jpeg", ".png": "image/png"}


class LocalStorage(ResultStorage):
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser().resolve()
        self.url = self.directory.as_uri()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.directory)!r})"

    def path(self, key: str) -> Path:
        """The file of ``key``; refuses a key that would land outside the directory."""
        path = (self.directory / key).resolve()
        if self.directory not in path.parents:
            raise ValueError(f"refusing key {key!r}: it resolves outside {self.directory}")
        return path

    def location(self, key: str) -> str:
        return str(self.path(key))

    def key_of(self, location: str) -> str | None:
        path = Path(location)
        if not path.is_absolute():
            return None
        try:
            return str(path.resolve().relative_to(self.directory))
        except ValueError:
            return None

    def writer(self, key: str, sniff: Sniffer, what: str = "a video") -> ObjectWriter:
        return FileWriter(self.path(key), key, sniff, what)

    def stat(self, key: str) -> StoredObject | None:
        path = self.path(key)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        return StoredObject(key, size, _TYPES.get(path.suffix))

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with self.path(key).open("rb") as fh:
            fh.seek(start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                data = fh.read(CHUNK if left is None else min(CHUNK, left))
                if not data:
                    return
                if left is not None:
                    left -= len(data)
                yield data

    def delete(self, key: str) -> bool:
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def keys(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.directory))
            for p in self.directory.rglob("*")
            if p.is_file() and not p.name.endswith(".part")
        )


class FileWriter(ObjectWriter):
    """Batches go to ``<file>.<random>.part`` (unique: two writers of one key never share a part file); the
    rename at ``finish`` is atomic."""

    def __init__(self, path: Path, key: str, sniff: Sniffer, what: str) -> None:
        super().__init__(key, sniff, what, batch_bytes=CHUNK)
        self.path = path
        self.part = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] = self.part.open("wb")

    def _store_batch(self, batch: list[bytes], last: bool) -> None:
        self._fh.writelines(batch)

    def _commit(self, sha256: str, content_type: str) -> None:
        self._fh.close()
        os.replace(self.part, self.path)

    def _discard(self) -> None:
        if self._fh.closed:
            with contextlib.suppress(FileNotFoundError):
                self.part.unlink()
            return
        self._fh.seek(0)
        self._fh.truncate()

    def abort(self) -> None:
        try:
            super().abort()
        finally:
            with contextlib.suppress(Exception):
                self._fh.close()
            with contextlib.suppress(FileNotFoundError):
                self.part.unlink()
