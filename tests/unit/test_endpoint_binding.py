"""A job is bound to the endpoint it was created for: provider, base URL and credential *name* are recorded, and
no operation ever sends it (its create, a poll, a download, a cancel, a retry) to another host or credential."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from vidgate.client import Client
from vidgate.engine.endpoints import EndpointMismatchError, Route
from vidgate.store import MemoryStore
from vidgate.types import Asset, JobStatus

A = "https://relay-a.example"
B = "https://relay-b.example"


class Recorder:
    """A transport that answers like the relay and remembers every host it was asked to reach."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        if request.method == "POST" and request.url.path.endswith("/v1/videos"):
            return httpx.Response(200, json={"id": "t:1", "object": "video", "status": "queued", "progress": 0})
        if request.method == "POST":
            return httpx.Response(200, json={"task_id": "t:1"})
        return httpx.Response(200, json={"task_id": "t:1", "status": "IN_PROGRESS", "progress": "10%", "data": None})


def client(store: MemoryStore, recorder: Recorder, **kw: Any) -> Client:
    kw.setdefault("env", {})
    return Client(store=store, transport=httpx.MockTransport(recorder), sleep=lambda s: None, **kw)


def test_the_endpoint_is_recorded_with_the_credential_name_never_the_key() -> None:
    store, rec = MemoryStore(), Recorder()
    env = {"VIDGATE_RELAY_API_KEY": "sk-secret-one", "VIDGATE_RELAY_BASE_URL": A + "/"}
    with client(store, rec, env=env) as c:
        job = c.enqueue("bound", model="sora-2")
    assert (job.base_url, job.credentials_ref) == (A, "VIDGATE_RELAY_API_KEY")
    assert job.endpoint == f"relay {A} VIDGATE_RELAY_API_KEY"
    with client(store, rec, base_url=A, api_key="sk-given-as-argument") as c:
        given = c.enqueue("bound too", model="sora-2")
    assert given.credentials_ref is not None and given.credentials_ref.startswith("key:")
    assert "sk-given" not in given.model_dump_json() and "sk-secret" not in job.model_dump_json()


@pytest.mark.parametrize(
    "other",
    [
        {"base_url": B, "api_key": "k"},  # another host
        {"env": {"VIDGATE_RELAY_BASE_URL": A, "VIDGATE_RELAY_API_KEY": "k2"}},  # the same host, another credential
    ],
)
def test_a_job_created_for_host_a_is_never_sent_elsewhere(other: dict[str, Any]) -> None:
    store, rec = MemoryStore(), Recorder()
    with client(store, rec, base_url=A, api_key="k") as a:
        job = a.enqueue("for host A only", model="sora-2")
        refused = a.enqueue("refused on A", model="sora-2")
    failed = store.save(refused.model_copy(update={"status": JobStatus.failed}))
    with client(store, rec, **other) as b:
        with pytest.raises(EndpointMismatchError) as info:
            b.advance(job)  # a pending create: never sent to this process's host
        assert "Nothing was sent" in str(info.value) and job.id in str(info.value)
        assert b.job(job.id).status is JobStatus.pending and b.job(job.id).submit_attempts == 0
        assert job.endpoint not in b.endpoints()
        with pytest.raises(EndpointMismatchError):
            b.retry(failed)  # a person's retry goes where the job went, or nowhere
    assert rec.hosts == []
    with client(store, rec, base_url=A, api_key="k") as a:
        sent = a.advance(job)
    assert sent.status is JobStatus.queued and rec.hosts == ["relay-a.example"]


def test_polls_downloads_and_remixes_stay_on_the_jobs_host() -> None:
    store, rec = MemoryStore(), Recorder()
    with client(store, rec, base_url=A, api_key="k", allow_retired=True) as a:
        job = a.submit("running on A", model="relay-openai/sora-2")
    with client(store, rec, base_url=B, api_key="k", allow_retired=True) as b:
        with pytest.raises(EndpointMismatchError):
            b.get(job)
        done = store.save(b.job(job.id).model_copy(update={
            "status": JobStatus.succeeded, "assets": [Asset(url=f"{A}/v1/videos/t:1/content")]}))  # fmt: skip
        with pytest.raises(EndpointMismatchError):
            b.download(done)
        with pytest.raises(EndpointMismatchError):
            b.remix(done, "again")
        assert b.cancel(job).status is JobStatus.succeeded  # final: nothing to send anywhere
    assert rec.hosts == ["relay-a.example"]  # the create only


def test_a_route_binds_its_jobs_to_its_own_host_and_key_variable() -> None:
    store, rec = MemoryStore(), Recorder()
    env = {"MAIN_KEY": "k1", "BACKUP_KEY": "k2"}
    routes = [Route("main", "relay", base_url=A, api_key_env="MAIN_KEY"),
              Route("backup", "relay", base_url=B, api_key_env="BACKUP_KEY")]  # fmt: skip
    with client(store, rec, env=env, routes=routes) as c:
        main = c.submit("main", model="sora-2", route="main")
        backup = c.submit("backup", model="sora-2", route="backup")
        assert (main.base_url, main.credentials_ref, main.route) == (A, "MAIN_KEY", "main")
        assert (backup.base_url, backup.credentials_ref, backup.route) == (B, "BACKUP_KEY", "backup")
        c.get(main)
        c.get(backup)
        assert {main.endpoint, backup.endpoint} <= set(c.endpoints())
    assert rec.hosts == ["relay-a.example", "relay-b.example", "relay-a.example", "relay-b.example"]
    moved = [Route("main", "relay", base_url=B, api_key_env="MAIN_KEY")]  # the route now points elsewhere
    with client(store, rec, env=env, routes=moved) as c, pytest.raises(EndpointMismatchError):
        c.get(main)
