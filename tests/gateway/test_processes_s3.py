"""Past one machine: two gateway replicas and three ``vidgate worker`` processes on one real PostgreSQL, each
with a download directory of its own (no shared volume), results in an S3-compatible store (moto on loopback),
a request budget shared through the database. Every job is created once, every video is fetched through
either gateway by a redirect to the store with its sha256 intact, and the provider never sees more requests
than the shared budget allows."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import FAST
from tests.e2e.test_shared_budget import Sampler
from tests.gateway.helpers import EMU_KEY_ENV, bearer, wait_for
from tests.gateway.test_processes import Procs, create, status
from tests.pg import PgServer, fresh_pg_url
from tests.s3 import S3Server
from vidgate.emulator import EmulatorServer
from vidgate.server.tenants import create_key
from vidgate.store import open_store
from vidgate.store.gateway import gateway_data

pytestmark = pytest.mark.slow
RATE = 5


@pytest.fixture
def procs(tmp_path: Path, emulator: EmulatorServer, s3_server: S3Server) -> Iterator[Procs]:
    env = {**os.environ, **s3_server.env(), EMU_KEY_ENV: emulator.api_key, "VIDGATE_HOME": str(tmp_path),
           "VIDGATE_GATEWAY_SECRET": "shared-by-every-replica"}  # fmt: skip
    env.pop("VIDGATE_DATABASE_URL", None)
    running = Procs(tmp_path, env)
    yield running
    running.stop_all()


def config(tmp: Path, emulator: EmulatorServer, bucket: str) -> Path:
    path = tmp / "gateway.toml"
    path.write_text(
        "\n".join(
            [
                "[server]",
                f'storage = "s3://{bucket}/videos"',  # no downloads_dir: each process has its own
                f"time_scale = {FAST}",
                f"rate_limits = {{ relay = {RATE} }}",
                "",
                "[[routes]]",
                'name = "relay"',
                'provider = "relay"',
                f'base_url = "{emulator.url}"',
                f'api_key_env = "{EMU_KEY_ENV}"',
            ]
        )
        + "\n"
    )
    return path


def test_two_gateways_three_workers_postgres_and_an_object_store(
    procs: Procs, tmp_path: Path, emulator: EmulatorServer, pg_server: PgServer, s3_server: S3Server
) -> None:
    url = fresh_pg_url(pg_server)
    with open_store(url) as store:
        token = create_key(gateway_data(store), "replicas").token
    bucket = s3_server.new_bucket()
    cfg = str(config(tmp_path, emulator, bucket))
    dirs = {name: tmp_path / f"downloads-{name}" for name in ("gw1", "gw2", "w1", "w2", "w3")}
    with Sampler(emulator) as sampler:
        gateways = [
            procs.gateway(name, "--config", cfg, "--store", url, "--no-worker", "--downloads", str(dirs[name]))
            for name in ("gw1", "gw2")
        ]
        for name in ("w1", "w2", "w3"):
            procs.start(name, "worker", "--config", cfg, "--store", url, "--downloads", str(dirs[name]),
                        "--idle", "0.02", "--concurrency", "2")  # fmt: skip
        for gw in gateways:
            procs.wait_healthy(gw)
        ids = [create(gateways[i % 2].url, token, f"a lighthouse beyond one machine, take {i}") for i in range(6)]
        for i, vid in enumerate(ids):
            other = gateways[(i + 1) % 2].url
            wait_for(lambda v=vid, o=other: status(o, token, v) == "completed", timeout=60)
    truth = {j["task_id"]: j for j in emulator.truth()["jobs"]}
    assert emulator.state.counts["POST /v2/videos/generations"] == 6 and emulator.truth()["duplicates"] == {}
    with open_store(url) as store:
        jobs = {vid: store.get(vid) for vid in ids}
    with httpx.Client(timeout=30) as http:
        for i, vid in enumerate(ids):
            job = jobs[vid]
            assert job.video is not None and job.video.path == f"s3://{bucket}/videos/{vid}.mp4"
            for gw in gateways:  # through either gateway: a redirect to the store, never the bytes
                answer = http.get(f"{gw.url}/v1/videos/{vid}/content", headers=bearer(token))
                assert answer.status_code == 307, answer.text
                data = http.get(answer.headers["location"]).content
                assert hashlib.sha256(data).hexdigest() == job.video.sha256
                assert job.video.sha256 == truth[job.provider_task_id]["sha256"]
            part = http.get(f"{gateways[i % 2].url}/v1/videos/{vid}/content", follow_redirects=True,
                            headers={**bearer(token), "Range": "bytes=4-11"})  # fmt: skip
            assert part.status_code == 206 and part.content[:4] == b"ftyp"
    stored = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="videos/")["Contents"]
    assert sorted(o["Key"] for o in stored) == sorted(f"videos/{vid}.mp4" for vid in ids)  # one object each
    for name, where in dirs.items():  # no video was written to any process's own disk
        assert not where.exists() or not any(p.suffix == ".mp4" for p in where.rglob("*")), name
    assert sampler.busiest(1.0) <= RATE + 2, sampler.busiest(1.0)  # creates and polls of all five processes
    print(f"\n6 jobs, 2 gateways + 3 workers: {sampler.samples[-1][1]} budgeted provider requests, busiest second "
          f"{sampler.busiest(1.0)} (shared rate {RATE}/s); 12 redirects to the store, sha256 intact")  # fmt: skip
    logs = procs.stop_all()
    finished = 0
    for name in ("w1", "w2", "w3"):
        line = next((ln for ln in logs[name].splitlines() if ln.startswith("stopped:")), None)
        assert line is not None, logs[name][-2000:]
        finished += int(line.split()[5])
    assert finished == 6  # between them the workers finished every job, once
