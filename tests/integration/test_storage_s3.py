"""Workers save results straight into an S3-compatible store (moto on loopback): the video and the preview
image under the job's own key, the sha256 the emulator served, probed through ranged reads, nothing on disk;
a download that breaks mid-way resumes into the same upload; a job's record says where its bytes live."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
from tests.s3 import S3Server

from vidgate.client import AsyncClient
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.engine.worker import Worker
from vidgate.storage import open_storage
from vidgate.storage.s3 import S3Storage
from vidgate.store import open_store
from vidgate.types import JobStatus


def storage_for(s3: S3Server) -> S3Storage:
    made = open_storage(f"s3://{s3.new_bucket()}/results", s3.env())
    assert isinstance(made, S3Storage)
    return made


def truth(emulator: EmulatorServer) -> dict[str, Any]:
    jobs = httpx.get(emulator.url + "/_emulator/truth").json()["jobs"]
    return {j["task_id"]: j for j in jobs}


def test_a_worker_streams_videos_and_previews_into_the_object_store(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path, s3_server: S3Server
) -> None:
    storage = storage_for(s3_server)
    downloads = tmp_path / "downloads"

    async def go() -> list[Any]:
        store = open_store(tmp_path / "jobs.db")
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={},
                               store=store, downloads_dir=downloads, storage=storage) as c:  # fmt: skip
            made = [await c.enqueue(f"a heron, take {i}", model="relay/sora-2") for i in range(3)]
            made.append(await c.enqueue("a heron with a thumbnail", model="relay-openai/sora-2", duration=10))
            stats = await asyncio.wait_for(Worker(c.engine, concurrency=4, idle_s=0.01).run(until_idle=True), 60)
            assert stats.errors == 0
            # a copy to a file of one's own comes from the store (the provider's URL may have expired by then)
            emulator.state.counts.clear()
            copied = await c.download(made[0].id, tmp_path / "copy.mp4")
            assert emulator.state.counts == {} and copied.video and copied.video.path == c.job(made[0].id).video.path
            copy = (tmp_path / "copy.mp4").read_bytes()
            assert hashlib.sha256(copy).hexdigest() == copied.video.sha256
            return [c.job(j.id) for j in made]

    jobs = asyncio.run(go())
    served = truth(emulator)
    keys = set(storage.keys())
    for job in jobs:
        assert job.status is JobStatus.succeeded and job.done
        video = job.video
        assert video is not None and video.path == storage.location(f"{job.id}.mp4")  # where its bytes live
        key = storage.key_of(video.path)
        assert key in keys
        data = b"".join(storage.read(key))
        assert hashlib.sha256(data).hexdigest() == video.sha256 == served[job.provider_task_id]["sha256"]
        assert video.probe is not None and video.probe.duration > 0  # probed through ranged reads
    previews = [a for a in jobs[-1].assets if a.kind in ("thumbnail", "cover")]
    assert previews and all(a.path and a.path.startswith(f"s3://{storage.bucket}/results/") for a in previews)
    assert {storage.key_of(a.path or "") for a in previews} <= keys
    assert len(keys) == len(jobs) + len(previews)  # one object per asset, nothing else
    assert not downloads.exists() or not any(downloads.iterdir())  # no video touched the local disk


def test_a_broken_download_resumes_into_the_same_upload(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path, s3_server: S3Server
) -> None:
    """The emulator cuts the connection mid-body: the download resumes with Range into the same writer and the
    stored object is whole (sha256 as served), with no unfinished upload left."""
    storage = storage_for(s3_server)
    storage.part_bytes = 5 << 20
    plan = {"rules": [{"endpoint": "GET /cdn/*", "kind": "reset", "after_bytes": 4096, "count": 1}]}
    put = httpx.put(emulator.url + "/_emulator/faults", json=plan)
    assert put.status_code == 200, put.text

    async def go() -> Any:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={},
                               store=open_store(tmp_path / "jobs.db"), storage=storage) as c:  # fmt: skip
            job = await c.enqueue("a heron, broken once", model="relay/sora-2")
            await asyncio.wait_for(Worker(c.engine, concurrency=1, idle_s=0.01).run(until_idle=True), 60)
            return c.job(job.id)

    job = asyncio.run(go())
    video = job.video
    assert video is not None and video.path is not None
    assert video.sha256 == truth(emulator)[job.provider_task_id]["sha256"] and (video.size_bytes or 0) > 4096
    assert httpx.get(emulator.url + "/_emulator/truth").json()["injected"] == {"reset": 1}
    key = storage.key_of(video.path)
    assert key is not None and storage.unfinished(key) == []
    assert hashlib.sha256(b"".join(storage.read(key))).hexdigest() == video.sha256
    timeline = [e.kind for e in open_store(tmp_path / "jobs.db").timeline(job.id)]
    assert timeline.count("download_completed") == 1
