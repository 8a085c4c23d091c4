"""One contract, two result storages: a local directory and a real S3-compatible server (moto, on loopback).

Every test runs on both. The rules are those of ``vidgate.storage.base``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.s3 import S3Server

from vidgate.emulator.render import render_mp4
from vidgate.engine.download import sniff_image, sniff_video
from vidgate.errors import DownloadError
from vidgate.media import probe_video
from vidgate.storage import LocalStorage, RangeFile, ResultStorage, open_storage
from vidgate.storage.s3 import S3Storage

VIDEO = render_mp4(3, 256, 144)
MIB = 1 << 20


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ResultStorage]:
    if request.param == "local":
        yield open_storage(tmp_path / "files")
        return
    server: S3Server = request.getfixturevalue("s3_server")
    made = open_storage(f"s3://{server.new_bucket()}/results/v1", server.env())
    assert isinstance(made, S3Storage)
    made.part_bytes = 5 * MIB  # S3's smallest part: several parts from a few MiB
    yield made
    made.close()


def big_video(size: int) -> bytes:
    """A byte string that sniffs as MP4 (an ftyp box first), ``size`` bytes long, not compressible to nothing."""
    body = VIDEO + bytes(range(256)) * ((size - len(VIDEO)) // 256 + 1)
    return body[:size]


def store(storage: ResultStorage, key: str, data: bytes, chunk: int = 64 * 1024) -> tuple[str, int]:
    writer = storage.writer(key, sniff_video)
    for i in range(0, len(data), chunk):
        writer.write(data[i : i + chunk])
    return writer.finish(len(data))


def read_all(storage: ResultStorage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(storage.read(key, start, end))


def test_a_small_video_is_stored_read_and_located(storage: ResultStorage) -> None:
    key = storage.key_for("job_abc")
    assert key == "job_abc.mp4" and storage.key_for("job_abc", "thumbnail", "webp") == "job_abc.thumbnail.webp"
    sha, size = store(storage, key, VIDEO)
    assert (sha, size) == (hashlib.sha256(VIDEO).hexdigest(), len(VIDEO))
    stat = storage.stat(key)
    assert stat is not None and stat.size == len(VIDEO)
    assert read_all(storage, key) == VIDEO
    assert read_all(storage, key, 10, 99) == VIDEO[10:100]
    assert read_all(storage, key, len(VIDEO) - 5) == VIDEO[-5:]
    assert storage.keys() == [key]
    where = storage.location(key)
    assert storage.key_of(where) == key
    assert storage.key_of("/elsewhere/job_abc.mp4") is None and storage.key_of("s3://other/job_abc.mp4") is None


def test_a_large_video_streams_in_parts_with_constant_memory(storage: ResultStorage) -> None:
    """24 MiB in 64 KiB chunks (five S3 parts): the writer never holds more than a few batches."""
    data = big_video(24 * MIB)
    key = storage.key_for("job_big")
    writer = storage.writer(key, sniff_video)
    for i in range(0, len(data), 64 * 1024):
        writer.write(data[i : i + 64 * 1024])
    sha, size = writer.finish(len(data))
    assert (sha, size) == (hashlib.sha256(data).hexdigest(), len(data))
    bound = (writer.DEPTH + 2) * writer.batch_bytes
    assert writer.peak_held <= bound < len(data), f"held {writer.peak_held / MIB:.1f} MiB of 24 MiB"
    assert hashlib.sha256(read_all(storage, key)).hexdigest() == sha
    if isinstance(storage, S3Storage):
        assert storage.unfinished(key) == []


def test_a_short_or_wrong_result_leaves_nothing(storage: ResultStorage) -> None:
    key = storage.key_for("job_short")
    writer = storage.writer(key, sniff_video)
    writer.write(big_video(7 * MIB))
    with pytest.raises(DownloadError, match="ended early"):
        writer.finish(8 * MIB)
    html = storage.writer(storage.key_for("job_html"), sniff_video)
    html.write(b"<html>an error page, not a video</html>")
    with pytest.raises(DownloadError, match="not a video"):
        html.finish(None)
    image = storage.writer(storage.key_for("job_x", "thumbnail", "webp"), sniff_image, "an image")
    image.write(VIDEO)
    with pytest.raises(DownloadError, match="not an image"):
        image.finish(None)
    assert storage.keys() == []
    if isinstance(storage, S3Storage):
        assert storage.unfinished(key) == []


def test_restart_keeps_only_the_second_body(storage: ResultStorage) -> None:
    """The server answered a Range request with the whole file again: what was stored is dropped."""
    data = big_video(11 * MIB)
    key = storage.key_for("job_again")
    writer = storage.writer(key, sniff_video)
    writer.write(data[: 6 * MIB])
    writer.wait()
    writer.restart()
    writer.write(data)
    assert writer.finish(len(data))[0] == hashlib.sha256(data).hexdigest()
    assert read_all(storage, key) == data


def test_a_crashed_writer_is_replaced_without_a_second_object(storage: ResultStorage) -> None:
    """A worker died mid-upload (parts stored, never finished); another worker saves the same job later: one
    object under the job's key, whole, and nothing of the dead upload left."""
    data = big_video(12 * MIB)
    key = storage.key_for("job_crash")
    dead = storage.writer(key, sniff_video)
    dead.write(data[: 11 * MIB])
    dead.wait()  # two parts are up; then the process is killed: no finish, no abort
    if isinstance(storage, S3Storage):
        assert len(storage.unfinished(key)) == 1
    assert storage.stat(key) is None  # nothing half-written is visible
    assert store(storage, key, data)[0] == hashlib.sha256(data).hexdigest()
    assert storage.keys() == [key]
    assert read_all(storage, key) == data
    if isinstance(storage, S3Storage):
        assert storage.unfinished(key) == []
    assert store(storage, key, data)[1] == len(data)  # saved once more: still one object
    assert storage.keys() == [key]


def test_delete(storage: ResultStorage) -> None:
    key = storage.key_for("job_gone")
    store(storage, key, VIDEO)
    assert storage.delete(key) is True
    assert storage.stat(key) is None and storage.keys() == []
    assert storage.delete(key) is False


def test_presigned_urls_serve_ranges(storage: ResultStorage) -> None:
    key = storage.key_for("job_signed")
    store(storage, key, VIDEO)
    url = storage.presign(key, 60, filename="job_signed.mp4", content_type="video/mp4")
    if isinstance(storage, LocalStorage):
        assert url is None  # a directory has no URLs: the gateway serves the file itself
        return
    assert url is not None and "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content == VIDEO
    assert whole.headers["content-type"] == "video/mp4"
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == VIDEO[100:200]


def test_a_stored_video_is_probed_without_a_local_copy(storage: ResultStorage) -> None:
    key = storage.key_for("job_probe")
    store(storage, key, VIDEO)
    stat = storage.stat(key)
    assert stat is not None
    probe = probe_video(RangeFile(storage, key, stat.size))
    assert (probe.width, probe.height) == (256, 144) and abs(probe.duration - 3) < 0.2


def test_storage_urls_are_checked() -> None:
    from vidgate.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="s3://BUCKET"):
        open_storage("s3://", {})
    with pytest.raises(ConfigurationError, match="unknown scheme 'gs'"):
        open_storage("gs://bucket/x", {})
    assert isinstance(open_storage("file:///tmp/vidgate-files"), LocalStorage)


def test_presigned_urls_can_name_a_public_endpoint(s3_server: S3Server) -> None:
    """Processes reach the store at one address, users at another: presigned URLs are made for the public one."""
    bucket = s3_server.new_bucket()
    public = s3_server.endpoint.replace("127.0.0.1", "localhost")
    made = open_storage(f"s3://{bucket}/p", {**s3_server.env(), "VIDGATE_S3_PUBLIC_ENDPOINT": public})
    key = made.key_for("job_public")
    store(made, key, VIDEO)
    url = made.presign(key, 60)
    assert url is not None and url.startswith(f"{public}/{bucket}/p/{key}?")
    assert httpx.get(url).content == VIDEO
