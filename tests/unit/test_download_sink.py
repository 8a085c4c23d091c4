"""Sink writes and hashes on threads of its own, behind the reading: the file and digest stay exact."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from vidgate.engine.download import Sink

MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(20)


def chunks(n: int) -> list[bytes]:
    return [MP4] + [bytes([i % 251]) * (4096 + i) for i in range(n)]


def test_many_chunks_then_a_restart_give_the_exact_file_and_digest(tmp_path: Path) -> None:
    sink = Sink(tmp_path / "v.mp4")
    for c in chunks(50):
        sink.write(c)
    sink.restart()  # the server sent the whole file again
    data = chunks(200)
    for c in data:
        sink.write(c)
    sha, size = sink.finish(sum(map(len, data)))
    assert (tmp_path / "v.mp4").read_bytes() == b"".join(data)
    assert sha == hashlib.sha256(b"".join(data)).hexdigest() and size == len(b"".join(data))
    assert not list(tmp_path.glob("*.part"))


def test_the_async_path_writes_the_same(tmp_path: Path) -> None:
    async def go() -> tuple[str, int]:
        sink = Sink(tmp_path / "a.mp4")
        for c in chunks(100):
            await sink.awrite(c)
        await sink.aflush()
        return sink.finish(None)

    sha, _ = asyncio.run(go())
    assert sha == hashlib.sha256(b"".join(chunks(100))).hexdigest()


def test_a_failed_write_comes_out_and_abort_leaves_nothing(tmp_path: Path) -> None:
    sink = Sink(tmp_path / "b.mp4")
    sink.write(MP4)
    sink._fh.close()  # the disk went away
    with pytest.raises(ValueError):
        for _ in range(Sink.DEPTH + 2):
            sink.write(b"x" * 10)
        sink.wait()
    sink.abort()
    assert not list(tmp_path.iterdir())
