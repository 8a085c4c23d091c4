"""The client's wait loop with a scripted transport and an injected clock: no real sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from vidgate.client import Client
from vidgate.errors import MissingCredentialsError, TransportError, ValidationError
from vidgate.types import ErrorCode, JobStatus


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(statuses: list[Any]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    replies: Iterator[Any] = iter(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(200, json={"task_id": "t:1"})
        item = next(replies, statuses[-1])
        if isinstance(item, httpx.Response):
            return item
        body: dict[str, Any] = {"task_id": "t:1", "status": item, "progress": "50%", "data": None}
        if item == "SUCCESS":
            body["data"] = {"output": "https://cdn.example/v.mp4"}
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handler), seen


def make_client(transport: httpx.MockTransport, clock: FakeTime) -> Client:
    return Client(api_key="k", base_url="https://relay.example", transport=transport, clock=clock.clock,
                  sleep=clock.sleep, rand=lambda: 0.5, env={})  # fmt: skip


def test_unknown_and_never_seen_statuses_keep_polling_until_success() -> None:
    clock = FakeTime()
    transport, seen = scripted(["NOT_START", "UNKNOWN", "WARP_DRIVE", "IN_PROGRESS", "SUCCESS"])
    with make_client(transport, clock) as client:
        job = client.wait(client.submit("x", model="sora-2"))
    assert job.status is JobStatus.succeeded and job.raw_status == "SUCCESS"
    assert len(seen) == 6  # 1 create + 5 status checks


def test_a_status_never_seen_expires_at_the_deadline_not_done() -> None:
    clock = FakeTime()
    transport, seen = scripted(["WARP_DRIVE"])
    with make_client(transport, clock) as client:
        job = client.wait(client.submit("x", model="sora-2"), timeout=600)
    assert job.status is JobStatus.expired and job.raw_status == "WARP_DRIVE"
    assert job.error is not None and job.error.code is ErrorCode.timeout
    assert clock.now == pytest.approx(600)
    assert 5 < len(seen) < 0.15 * 600  # bounded polling, far fewer than a 1 s loop


def test_rate_limits_and_server_errors_while_polling_are_retried() -> None:
    clock = FakeTime()
    transport, _ = scripted(
        [httpx.Response(429, json={"error": {"message": "slow"}}, headers={"Retry-After": "42"}),
         httpx.Response(502, text="bad gateway"), "SUCCESS"]
    )  # fmt: skip
    with make_client(transport, clock) as client:
        job = client.wait(client.submit("x", model="sora-2"))
    assert job.status is JobStatus.succeeded
    assert 42 in [round(s) for s in clock.sleeps]  # Retry-After honoured


def test_missing_key_fails_before_io_naming_the_variable() -> None:
    transport, seen = scripted(["SUCCESS"])
    with (
        Client(transport=transport, env={}) as client,
        pytest.raises(MissingCredentialsError, match="VIDGATE_RELAY_API_KEY"),
    ):
        client.submit("x", model="sora-2")
    assert seen == []


def test_invalid_request_fails_before_io() -> None:
    transport, seen = scripted(["SUCCESS"])
    with make_client(transport, FakeTime()) as client, pytest.raises(ValidationError) as info:
        client.submit("x", model="sora-2", duration=12, aspect_ratio="4:3")
    assert len(info.value.problems) == 2 and seen == []


def test_connection_refused_at_submit_is_not_an_unknown_outcome() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with make_client(httpx.MockTransport(refuse), FakeTime()) as client, pytest.raises(TransportError):
        client.submit("x", model="sora-2")


def test_a_read_timeout_after_sending_leaves_the_job_unknown() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    with make_client(httpx.MockTransport(hang), FakeTime()) as client:
        with pytest.raises(TransportError):
            client.submit("x", model="sora-2")
        (job,) = client.store.list_jobs().jobs
    assert job.status is JobStatus.unknown and job.provider_task_id is None
