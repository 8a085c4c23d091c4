"""A gateway whose results live in an S3-compatible store (moto on loopback): ``/content`` and the relay's
``data.output`` answer with a redirect to a short-lived presigned URL (no video bytes through the gateway),
``Range`` works through the redirect and through the proxy mode, DELETE removes the objects, and retention
removes results after their time (the record keeps where they were; the gateway answers 410)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.helpers import bearer, env_for, gateway_config, wait_for
from tests.s3 import S3Server
from vidgate.emulator import EmulatorServer
from vidgate.engine.retention import sweep
from vidgate.server.run import GatewayServer
from vidgate.storage.s3 import S3Storage


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.new_bucket()


def start(emulator: EmulatorServer, tmp_path: Path, s3: S3Server, bucket: str, **server: Any) -> GatewayServer:
    config = gateway_config(emulator, tmp_path, storage=f"s3://{bucket}/gw", **server)
    return GatewayServer(config, env=env_for(emulator, tmp_path, **s3.env()))


@pytest.fixture
def redirecting(emulator: EmulatorServer, tmp_path: Path, s3_server: S3Server, bucket: str) -> Iterator[GatewayServer]:
    with start(emulator, tmp_path, s3_server, bucket, presign_ttl_s=120) as server:
        yield server


def finished_video(gw: GatewayServer, key: str, prompt: str = "a lighthouse") -> dict[str, Any]:
    with httpx.Client(base_url=gw.url, headers=bearer(key), timeout=30) as http:
        made = http.post("/v1/videos", json={"prompt": prompt, "model": "sora-2", "seconds": "10"})
        assert made.status_code == 200, made.text
        vid = made.json()["id"]
        wait_for(lambda: http.get(f"/v1/videos/{vid}").json()["status"] == "completed", timeout=30)
        body: dict[str, Any] = http.get(f"/v1/videos/{vid}").json()
        return body


def test_content_redirects_to_a_presigned_url_and_ranges_work(
    redirecting: GatewayServer, bucket: str, emulator: EmulatorServer
) -> None:
    gw, key = redirecting, redirecting.create_key("alice")
    video = finished_video(gw, key)
    job = gw.gateway.store.get(video["id"])
    assert job.video is not None and job.video.path == f"s3://{bucket}/gw/{job.id}.mp4"  # where the bytes live
    assert not any((Path(gw.gateway.downloads_dir)).iterdir())  # nothing on the gateway's disk
    with httpx.Client(timeout=30) as http:
        answer = http.get(f"{gw.url}/v1/videos/{job.id}/content", headers=bearer(key))
        assert answer.status_code == 307 and answer.headers["cache-control"] == "no-store"
        signed = answer.headers["location"]
        assert signed.startswith(s3_endpoint(gw)) and "X-Amz-Expires=120" in signed
        whole = http.get(signed)
        assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == job.video.sha256
        assert whole.headers["content-type"] == "video/mp4"
        part = http.get(f"{gw.url}/v1/videos/{job.id}/content", headers={**bearer(key), "Range": "bytes=0-99"},
                        follow_redirects=True)  # fmt: skip
        assert part.status_code == 206 and part.content == whole.content[:100]
        head = http.head(f"{gw.url}/v1/videos/{job.id}/content", headers=bearer(key))
        assert head.status_code == 307
        # the relay door's data.output: the gateway's own signed link (no API key), answering the same way
        task = http.get(f"{gw.url}/v2/videos/generations/{job.id}", headers=bearer(key)).json()
        output = task["data"]["output"]
        assert output.startswith(gw.url + "/v1/files/")
        via_link = http.get(output)
        assert via_link.status_code == 307
        assert http.get(via_link.headers["location"]).content == whole.content


def s3_endpoint(gw: GatewayServer) -> str:
    storage = gw.gateway.storage
    assert isinstance(storage, S3Storage)
    return str(storage.client.meta.endpoint_url)


def test_proxy_mode_streams_ranges_through_the_gateway(
    emulator: EmulatorServer, tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    with start(emulator, tmp_path, s3_server, bucket, storage_serving="proxy") as gw:
        key = gw.create_key("alice")
        job = gw.gateway.store.get(finished_video(gw, key)["id"])
        assert job.video is not None
        url = f"{gw.url}/v1/videos/{job.id}/content"
        with httpx.Client(headers=bearer(key), timeout=30) as http:
            whole = http.get(url)
            assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
            assert hashlib.sha256(whole.content).hexdigest() == job.video.sha256
            size = len(whole.content)
            part = http.get(url, headers={"Range": "bytes=10-109"})
            assert part.status_code == 206 and part.headers["content-range"] == f"bytes 10-109/{size}"
            assert part.content == whole.content[10:110]
            tail = http.get(url, headers={"Range": "bytes=-50"})
            assert tail.status_code == 206 and tail.content == whole.content[-50:]
            beyond = http.get(url, headers={"Range": f"bytes={size}-"})
            assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"


def test_delete_removes_the_objects(redirecting: GatewayServer) -> None:
    gw, key = redirecting, redirecting.create_key("alice")
    vid = finished_video(gw, key)["id"]
    storage = gw.gateway.storage
    assert [f"{vid}.mp4"] == storage.keys()
    gone = httpx.delete(f"{gw.url}/v1/videos/{vid}", headers=bearer(key), timeout=30)
    assert gone.status_code == 200, gone.text
    assert storage.keys() == []


def test_retention_removes_old_results_and_the_record_says_so(redirecting: GatewayServer) -> None:
    gw, key = redirecting, redirecting.create_key("alice")
    vid = finished_video(gw, key)["id"]
    core, storage = gw.gateway.client.engine.core, gw.gateway.storage
    assert sweep(core, storage, retention_s=3600) == 0  # not old enough yet
    assert sweep(core, storage, retention_s=3600, now=core.now() + timedelta(hours=2)) == 1
    job = gw.gateway.store.get(vid)
    assert job.done and job.video is not None and job.video.removed_at is not None
    assert job.video.path and job.video.path.endswith(f"/{vid}.mp4")  # where the bytes were kept
    assert storage.keys() == []
    answer = httpx.get(f"{gw.url}/v1/videos/{vid}/content", headers=bearer(key), timeout=30)
    assert answer.status_code == 410 and "removed from storage" in answer.text
    assert sweep(core, storage, retention_s=3600, now=core.now() + timedelta(hours=2)) == 0  # once
