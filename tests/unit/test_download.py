"""Resumable streaming downloads against scripted servers: Range resume, restarts, retries, expiry."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.steps import run_async, run_blocking
from vidgate.emulator.render import render_mp4
from vidgate.engine.download import DownloadExpired, download
from vidgate.errors import DownloadError

VIDEO = render_mp4(10, 256, 144)
SHA = hashlib.sha256(VIDEO).hexdigest()
URL = "https://cdn.example/v.mp4"


class Breaking(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields ``data`` in chunks and raises a read error after ``cut`` bytes (if set)."""

    def __init__(self, data: bytes, cut: int | None = None) -> None:
        self.data, self.cut = data, cut

    def _chunks(self) -> Iterator[bytes]:
        limit = len(self.data) if self.cut is None else self.cut
        for i in range(0, limit, 4096):
            yield self.data[i : min(i + 4096, limit)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()
        if self.cut is not None:
            raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self):  # type: ignore[override]
        for chunk in self._chunks():
            yield chunk
        if self.cut is not None:
            raise httpx.ReadError("connection reset by peer")


class Server:
    """A scripted CDN: each entry of ``plan`` decides one response."""

    def __init__(self, plan: list[str], honour_range: bool = True) -> None:
        self.plan = plan
        self.honour_range = honour_range
        self.ranges: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = self.plan.pop(0) if self.plan else "ok"
        rng = request.headers.get("range")
        self.ranges.append(rng)
        if step.isdigit():
            return httpx.Response(int(step), text="nope", headers={"Retry-After": "0"})
        start = int(rng.split("=")[1].rstrip("-")) if rng and self.honour_range else 0
        body = VIDEO[start:]
        cut = len(body) // 2 if step == "break" else None
        if step == "short":  # ends cleanly but early; no error raised
            body, cut = body[: len(body) // 3], None
        headers = {"content-length": str(len(VIDEO) - start), "etag": '"v1"', "accept-ranges": "bytes"}
        if start:
            headers["content-range"] = f"bytes {start}-{len(VIDEO) - 1}/{len(VIDEO)}"
            return httpx.Response(206, headers=headers, stream=Breaking(body, cut))
        return httpx.Response(200, headers=headers, stream=Breaking(body, cut))


def fetch(server: Server, out: Path) -> tuple[object, list[float]]:
    slept: list[float] = []
    got = run_blocking(download(httpx.Request("GET", URL), out, "cdn"), httpx.MockTransport(server), sleep=slept.append)
    return got, slept


def test_clean_download_hashes_and_sniffs(tmp_path: Path) -> None:
    got, slept = fetch(Server(["ok"]), tmp_path / "v.mp4")
    assert got.sha256 == SHA and got.size == len(VIDEO) and got.mime == "video/mp4"  # type: ignore[attr-defined]
    assert (tmp_path / "v.mp4").read_bytes() == VIDEO and slept == []
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]  # no part file left behind


def test_a_reset_mid_body_resumes_with_range_and_if_range(tmp_path: Path) -> None:
    server = Server(["break", "ok"])
    got, _ = fetch(server, tmp_path / "v.mp4")
    assert got.sha256 == SHA and got.resumes == 1  # type: ignore[attr-defined]
    assert server.ranges[0] is None and server.ranges[1] == f"bytes={len(VIDEO) // 2}-"


def test_a_short_clean_body_is_resumed(tmp_path: Path) -> None:
    got, _ = fetch(Server(["short", "ok"]), tmp_path / "v.mp4")
    assert got.sha256 == SHA  # type: ignore[attr-defined]


def test_a_server_ignoring_range_restarts_from_zero(tmp_path: Path) -> None:
    got, _ = fetch(Server(["break", "ok"], honour_range=False), tmp_path / "v.mp4")
    assert got.sha256 == SHA and (tmp_path / "v.mp4").read_bytes() == VIDEO  # type: ignore[attr-defined]


def test_5xx_and_429_are_retried_with_backoff(tmp_path: Path) -> None:
    got, slept = fetch(Server(["503", "429", "ok"]), tmp_path / "v.mp4")
    assert got.sha256 == SHA and slept == [0.5, 1.0]  # type: ignore[attr-defined]


def test_expired_url_is_its_own_error(tmp_path: Path) -> None:
    with pytest.raises(DownloadExpired):
        fetch(Server(["410"]), tmp_path / "v.mp4")
    assert not list(tmp_path.iterdir())


def test_gives_up_after_the_attempt_budget_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="after 6 attempts"):
        fetch(Server(["503"] * 10), tmp_path / "v.mp4")
    assert not list(tmp_path.iterdir())


def test_html_instead_of_video_is_refused(tmp_path: Path) -> None:
    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>login</html>")

    with pytest.raises(DownloadError, match="not a video"):
        run_blocking(download(httpx.Request("GET", URL), tmp_path / "v.mp4", "cdn"), httpx.MockTransport(html))
    assert not list(tmp_path.iterdir())


def test_async_download_resumes_too(tmp_path: Path) -> None:
    server = Server(["break", "503", "ok"])

    async def main() -> object:
        async def no_sleep(_: float) -> None:
            return None

        steps = download(httpx.Request("GET", URL), tmp_path / "a.mp4", "cdn")
        return await run_async(steps, httpx.MockTransport(server), sleep=no_sleep)

    got = asyncio.run(main())
    assert got.sha256 == SHA  # type: ignore[attr-defined]
    assert (tmp_path / "a.mp4").read_bytes() == VIDEO
