"""Every emulator fault really happens over real HTTP on loopback (httpx against a uvicorn EmulatorServer)."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vidgate.emulator import POLICY_FAIL_REASON, EmulatorConfig, EmulatorServer, FaultPlan, LateFailure
from vidgate.errors import RateLimitError
from vidgate.media import probe_video
from vidgate.providers._base import http_error, parse_retry_after

CREATE = "/v2/videos/generations"
STATUS = "GET /v2/videos/generations/*"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(queue_seconds=0.0, render_seconds=0.05)) as emu:
        yield emu


@pytest.fixture
def emu(server: EmulatorServer) -> Iterator[EmulatorServer]:
    server.state.reset()
    yield server
    server.state.reset()


@pytest.fixture
def http(emu: EmulatorServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    with httpx.Client(base_url=emu.url, headers=headers, timeout=10) as client:
        yield client


def set_plan(http: httpx.Client, plan: dict[str, Any]) -> dict[str, Any]:
    response = http.post("/_emulator/faults", json=plan)
    assert response.status_code == 200, response.text
    return dict(response.json())


def create(http: httpx.Client, prompt: str = "a lighthouse at dawn", **extra: Any) -> httpx.Response:
    return http.post(CREATE, json={"prompt": prompt, "model": "sora-2", **extra})


def wait_done(http: httpx.Client, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        body: dict[str, Any] = http.get(f"{CREATE}/{task_id}").json()
        if body["status"] in ("SUCCESS", "FAILURE"):
            return body
        time.sleep(0.01)
    raise AssertionError(f"task {task_id} did not finish")


def finished_url(http: httpx.Client, prompt: str = "a lighthouse at dawn") -> tuple[str, str]:
    task_id = create(http, prompt).json()["task_id"]
    body = wait_done(http, task_id)
    assert body["status"] == "SUCCESS"
    return task_id, str(body["data"]["output"])


def truth_of(emu: EmulatorServer, task_id: str) -> dict[str, Any]:
    return next(j for j in emu.truth()["jobs"] if j["task_id"] == task_id)


def raw_get(emu: EmulatorServer, url: str) -> tuple[bytes, BaseException | None]:
    """GET over a bare socket: everything received, and the error that ended it (None: a clean EOF)."""
    path = url.split(f":{emu.port}", 1)[1]
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError as exc:
                return data, exc
            if not chunk:
                return data, None
            data += chunk


def content_length(raw: bytes) -> int:
    head = raw.split(b"\r\n\r\n", 1)[0].decode().lower()
    return int(next(line.split(":")[1] for line in head.split("\r\n") if line.startswith("content-length")))


# ---------------------------------------------------------------- errors: 429 with Retry-After, 5xx bursts


def test_429_with_retry_after_in_the_dialect_shape_records_nothing(emu: EmulatorServer, http: httpx.Client) -> None:
    set_plan(http, {"rules": [{"endpoint": f"POST {CREATE}", "kind": "error", "status": 429, "retry_after": 2}]})
    response = create(http)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    error = http_error("relay", response)  # what the client makes of it
    assert isinstance(error, RateLimitError) and error.retry_after == 2.0
    assert emu.state.jobs == {} and emu.truth()["creates"] == {}
    assert http.get("/_emulator/faults").json()["injected"] == {"error_429": 1}


def test_fractional_retry_after_for_fast_tests(http: httpx.Client) -> None:
    set_plan(http, {"rules": [{"endpoint": f"POST {CREATE}", "kind": "error", "status": 429, "retry_after": 0.25}]})
    assert parse_retry_after(create(http).headers) == 0.25


def test_error_bodies_follow_the_dialect_of_the_path(http: httpx.Client) -> None:
    set_plan(http, {"rules": [{"kind": "error", "status": 503}]})
    zhipu = http.post("/api/paas/v4/videos/generations", json={})
    assert zhipu.status_code == 503 and zhipu.json()["error"]["code"] == "1305"
    google = http.post("/v1beta/models/veo-3.1-generate-preview:predictLongRunning", json={})
    assert google.json()["error"] == {
        "code": 503,
        "message": google.json()["error"]["message"],
        "status": "UNAVAILABLE",
    }
    relay = http.get(f"{CREATE}/some-task")
    assert relay.json()["error"]["type"] == "server_error"
    cdn = http.get("/cdn/abc.mp4")
    assert cdn.status_code == 503 and cdn.headers["content-type"].startswith("text/plain")
    assert http.get("/_emulator/faults").status_code == 200  # control endpoints are never faulted


def test_a_burst_of_5xx_then_recovery(http: httpx.Client) -> None:
    task_id = create(http).json()["task_id"]
    set_plan(http, {"rules": [{"endpoint": STATUS, "kind": "error", "status": 502, "skip": 1, "count": 3}]})
    codes = [http.get(f"{CREATE}/{task_id}").status_code for _ in range(5)]
    assert codes == [200, 502, 502, 502, 200]


def test_random_5xx_are_seeded(http: httpx.Client) -> None:
    task_id = create(http).json()["task_id"]
    plan = {"seed": 9, "rules": [{"endpoint": STATUS, "kind": "error", "status": 500, "probability": 0.4}]}

    def run() -> list[int]:
        set_plan(http, plan)  # setting a plan restarts its counters
        return [http.get(f"{CREATE}/{task_id}").status_code for _ in range(20)]

    first = run()
    assert first == run()
    assert set(first) == {200, 500}


# ---------------------------------------------------------------- slow, stalled, reset and truncated answers


def test_slow_response(http: httpx.Client) -> None:
    task_id = create(http).json()["task_id"]
    set_plan(http, {"rules": [{"endpoint": STATUS, "kind": "delay", "delay_s": 0.3, "count": 1}]})
    start = time.monotonic()
    assert http.get(f"{CREATE}/{task_id}").status_code == 200
    assert 0.3 <= time.monotonic() - start < 3
    start = time.monotonic()
    http.get(f"{CREATE}/{task_id}")
    assert time.monotonic() - start < 0.25


def test_stall_mid_body_trips_the_read_timeout(http: httpx.Client) -> None:
    _, url = finished_url(http)
    assert http.get(url).status_code == 200  # rendered and cached: the answer starts at once
    set_plan(http, {"rules": [{"endpoint": "GET /cdn/*", "kind": "stall", "after_bytes": 1000, "stall_s": 0.6}]})
    got = bytearray()
    with (
        httpx.Client(timeout=httpx.Timeout(5, read=0.2)) as client,
        client.stream("GET", url) as response,
        pytest.raises(httpx.ReadTimeout),
    ):
        for chunk in response.iter_bytes():
            got += chunk
    assert len(got) == 1000  # the headers and the first bytes came, then nothing


def test_reset_in_the_middle_of_a_download(emu: EmulatorServer, http: httpx.Client) -> None:
    task_id, url = finished_url(http)
    set_plan(http, {"rules": [{"endpoint": "GET /cdn/*", "kind": "reset", "after_bytes": 4000, "count": 2}]})
    got = bytearray()
    with pytest.raises(httpx.TransportError) as info, http.stream("GET", url) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            got += chunk
    assert isinstance(info.value, httpx.ReadError | httpx.RemoteProtocolError)
    total = truth_of(emu, task_id)["size"]
    assert len(got) <= 4000 < total
    data, error = raw_get(emu, url)  # the bare socket sees a TCP reset, not a clean end
    assert isinstance(error, ConnectionResetError)
    assert len(data.split(b"\r\n\r\n", 1)[1]) <= 4000
    whole = http.get(url).content  # the rule is spent: the next download is whole
    assert hashlib.sha256(whole).hexdigest() == truth_of(emu, task_id)["sha256"]
    assert http.get("/_emulator/faults").json()["injected"] == {"reset": 2}


def test_truncated_body_is_detected(emu: EmulatorServer, http: httpx.Client) -> None:
    task_id, url = finished_url(http)
    set_plan(http, {"rules": [{"endpoint": "GET /cdn/*", "kind": "truncate", "after_bytes": 3000, "count": 2}]})
    total = truth_of(emu, task_id)["size"]
    got = bytearray()
    with pytest.raises(httpx.RemoteProtocolError, match=r"received 3000 bytes"), http.stream("GET", url) as response:
        assert response.headers["content-length"] == str(total)  # the promise is kept in the header
        for chunk in response.iter_bytes():
            got += chunk
    assert len(got) == 3000
    data, error = raw_get(emu, url)  # a clean FIN after exactly 3000 body bytes
    assert error is None
    assert content_length(data) == total and len(data.split(b"\r\n\r\n", 1)[1]) == 3000


def test_resume_after_truncation_with_range_and_if_range(emu: EmulatorServer, http: httpx.Client) -> None:
    task_id, url = finished_url(http)
    set_plan(http, {"rules": [{"endpoint": "GET /cdn/*", "kind": "truncate", "after_bytes": 3000, "count": 1}]})
    got = bytearray()
    etag = ""
    with pytest.raises(httpx.RemoteProtocolError), http.stream("GET", url) as response:
        etag = response.headers["etag"]
        for chunk in response.iter_bytes():
            got += chunk
    rest = http.get(url, headers={"Range": f"bytes={len(got)}-", "If-Range": etag})
    total = truth_of(emu, task_id)["size"]
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes 3000-{total - 1}/{total}"
    assert hashlib.sha256(bytes(got) + rest.content).hexdigest() == truth_of(emu, task_id)["sha256"]
    stale = http.get(url, headers={"Range": "bytes=3000-", "If-Range": '"another-version"'})
    assert stale.status_code == 200 and len(stale.content) == total


# ---------------------------------------------------------------- expiring URLs


def test_urls_expire_and_the_status_endpoint_mints_a_fresh_one(emu: EmulatorServer, http: httpx.Client) -> None:
    task_id = create(http).json()["task_id"]
    set_plan(http, {"url_ttl_s": 0.3})
    first = wait_done(http, task_id)["data"]["output"]
    ok = http.get(first)
    assert ok.status_code == 200
    time.sleep(0.35)
    expired = http.get(first)
    assert expired.status_code == 403 and "expired" in expired.text
    second = http.get(f"{CREATE}/{task_id}").json()["data"]["output"]
    assert second != first
    again = http.get(second)
    assert again.status_code == 200 and again.content == ok.content
    assert again.headers["etag"] == ok.headers["etag"]  # the same file behind both URLs: Range resume is safe
    forged = second.replace(".mp4", "0.mp4")
    assert http.get(forged).status_code == 403
    assert http.get("/_emulator/faults").json()["injected"] == {"url_expired": 1, "url_signature": 1}


def test_expired_status_is_configurable_and_applies_to_other_dialects(http: httpx.Client) -> None:
    set_plan(http, {"url_ttl_s": 0.2, "url_expired_status": 410})
    task_id = http.post("/api/paas/v4/videos/generations", json={"model": "cogvideox-3", "prompt": "x"}).json()["id"]
    deadline = time.monotonic() + 5
    while (body := http.get(f"/api/paas/v4/async-result/{task_id}").json())["task_status"] != "SUCCESS":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    url = body["video_result"][0]["url"]
    assert http.get(url).status_code == 200
    time.sleep(0.25)
    assert http.get(url).status_code == 410


# ---------------------------------------------------------------- late failures


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_job_fails_late_after_90_percent() -> None:
    clock = Clock()
    plan = FaultPlan(late_failure=LateFailure(trigger="FAIL_LATE", min_progress=0.92, max_progress=0.98))
    config = EmulatorConfig(queue_seconds=1, render_seconds=10, clock=clock, faults=plan)
    with (
        EmulatorServer(config) as emu,
        httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}) as http,
    ):
        doomed = create(http, "a red fox FAIL_LATE").json()["task_id"]
        fine = create(http, "a red fox").json()["task_id"]
        truth = truth_of(emu, doomed)
        assert truth["final"] == "failed" and truth["late_failure"] and truth["fail_reason"] == POLICY_FAIL_REASON
        fail_at = truth["fail_at"]
        assert 0.92 <= fail_at <= 0.98

        def status(task_id: str, fraction: float) -> dict[str, Any]:
            clock.t = 1000 + 1 + 10 * fraction
            return dict(http.get(f"{CREATE}/{task_id}").json())

        assert status(doomed, 0.5)["progress"] == "50%"
        before = status(doomed, fail_at - 0.005)
        assert before["status"] == "IN_PROGRESS" and int(before["progress"].rstrip("%")) >= 91
        after = status(doomed, fail_at + 0.001)
        assert after["status"] == "FAILURE" and after["fail_reason"] == POLICY_FAIL_REASON and after["data"] is None
        assert status(fine, fail_at + 0.001)["status"] == "IN_PROGRESS"
        assert status(fine, 1.0)["status"] == "SUCCESS"
        assert truth_of(emu, fine)["final"] == "succeeded"


def test_late_failures_by_probability_are_deterministic(emu: EmulatorServer, http: httpx.Client) -> None:
    plan = {"seed": 5, "late_failure": {"trigger": None, "probability": 0.5}}

    def failing() -> set[str]:
        emu.state.reset()
        set_plan(http, plan)
        ids = {create(http, f"scene {i}").json()["task_id"]: f"scene {i}" for i in range(16)}
        return {ids[j["task_id"]] for j in emu.truth(hashes=False)["jobs"] if j["final"] == "failed"}

    first = failing()
    assert first == failing()
    assert 0 < len(first) < 16


# ---------------------------------------------------------------- create-side faults (money safety)


def test_create_recorded_then_connection_dropped(emu: EmulatorServer, http: httpx.Client) -> None:
    set_plan(http, {"rules": [{"endpoint": f"POST {CREATE}", "kind": "accept_then_drop", "count": 1}]})
    with pytest.raises(httpx.RemoteProtocolError):
        create(http, "a paid job")
    truth = emu.truth(hashes=False)
    assert len(truth["jobs"]) == 1 and truth["jobs"][0]["creates"] == 1 and truth["duplicates"] == {}
    assert emu.state.counts["POST /v2/videos/generations"] == 1
    assert truth["injected"] == {"accept_then_drop": 1}


def test_create_recorded_then_500(emu: EmulatorServer, http: httpx.Client) -> None:
    set_plan(http, {"rules": [{"endpoint": f"POST {CREATE}", "kind": "accept_then_error", "status": 500}]})
    response = create(http, "a paid job")
    assert response.status_code == 500 and response.json()["error"]["type"] == "server_error"
    assert len(emu.state.jobs) == 1  # the provider kept (and would bill) the job all the same
    refused = create(http, "x", model="no-such-model")  # the handler's own refusal passes through untouched
    assert refused.status_code == 400 and len(emu.state.jobs) == 1


def test_drop_before_the_handler_records_nothing(emu: EmulatorServer, http: httpx.Client) -> None:
    set_plan(http, {"rules": [{"endpoint": f"POST {CREATE}", "kind": "drop"}]})
    with pytest.raises(httpx.RemoteProtocolError):
        create(http)
    assert emu.state.jobs == {}


def test_body_filter_targets_one_job_and_creates_are_counted_per_identity(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    set_plan(http, {"rules": [{"endpoint": "POST *", "kind": "accept_then_drop", "body_contains": "DROP_ME"}]})
    assert create(http, "a cat").status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        create(http, "a dog DROP_ME")
    assert create(http, "a cat").status_code == 200  # a blind resubmission of the same request
    truth = emu.truth(hashes=False)
    creates = sorted(j["creates"] for j in truth["jobs"])
    assert creates == [1, 2, 2] and list(truth["duplicates"].values()) == [2]
    assert truth["duplicate_prompts"] == {"a cat": 2}
    create(http, "a cat", aspect_ratio="9:16")  # a resubmission that changed another field: a new fingerprint ...
    assert emu.truth(hashes=False)["duplicate_prompts"] == {"a cat": 3}  # ... but still the same prompt


# ---------------------------------------------------------------- truth, distinct bytes, large files


def test_truth_matches_the_served_bytes_and_every_job_differs(
    emu: EmulatorServer, http: httpx.Client, tmp_path: Path
) -> None:
    a_id, a_url = finished_url(http, "same prompt")
    b_id, b_url = finished_url(http, "same prompt")
    a, b = http.get(a_url).content, http.get(b_url).content
    assert a == http.get(a_url).content  # stable
    assert hashlib.sha256(a).hexdigest() == truth_of(emu, a_id)["sha256"]
    assert hashlib.sha256(b).hexdigest() == truth_of(emu, b_id)["sha256"]
    assert a != b and a_id.encode() in a
    (tmp_path / "a.mp4").write_bytes(a)
    assert probe_video(tmp_path / "a.mp4").duration == pytest.approx(10, abs=0.5)
    remote = http.get("/_emulator/truth").json()
    assert {j["task_id"]: j["sha256"] for j in remote["jobs"]} == {
        a_id: truth_of(emu, a_id)["sha256"],
        b_id: truth_of(emu, b_id)["sha256"],
    }


def test_a_large_padded_video_streams_with_ranges(emu: EmulatorServer, http: httpx.Client, tmp_path: Path) -> None:
    size = 64 * 2**20
    set_plan(http, {"video_size": size})
    task_id, url = finished_url(http)
    digest = hashlib.sha256()
    out = tmp_path / "big.mp4"
    with http.stream("GET", url) as response, out.open("wb") as f:
        assert response.headers["content-length"] == str(size)
        for chunk in response.iter_bytes():
            digest.update(chunk)
            f.write(chunk)
    assert out.stat().st_size == size
    assert digest.hexdigest() == truth_of(emu, task_id)["sha256"]
    assert probe_video(out).duration == pytest.approx(10, abs=0.5)  # still a valid MP4
    tail = http.get(url, headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == bytes(16)
    assert tail.headers["content-range"] == f"bytes {size - 16}-{size - 1}/{size}"
    assert http.get(url, headers={"Range": f"bytes={size}-"}).status_code == 416


# ---------------------------------------------------------------- the control endpoints


def test_control_endpoints(http: httpx.Client) -> None:
    bad = http.post("/_emulator/faults", json={"rules": [{"kind": "explode"}, {"kind": "error", "probability": 3}]})
    assert bad.status_code == 400
    fields = [p["field"] for p in bad.json()["error"]["problems"]]
    assert fields == ["rules.0.kind", "rules.1.probability"]
    shown = set_plan(http, {"seed": 1, "rules": [{"endpoint": "GET /cdn/*", "kind": "reset"}]})
    assert shown["plan"]["rules"][0]["kind"] == "reset"
    assert {"POST /v2/videos/generations", "GET /cdn/{token}.mp4"} <= set(shown["endpoints"])
    assert "reset" in shown["kinds"]
    cleared = http.delete("/_emulator/faults").json()
    assert cleared["plan"]["rules"] == []


def test_other_dialects_serve_the_bytes_the_truth_hashes(emu: EmulatorServer, http: httpx.Client) -> None:
    video_id = http.post("/openai/v1/videos", json={"prompt": "a boat", "model": "sora-2"}).json()["id"]
    deadline = time.monotonic() + 5
    while http.get(f"/openai/v1/videos/{video_id}").json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    set_plan(http, {"rules": [{"endpoint": "GET /openai/v1/videos/*/content", "kind": "error", "count": 1}]})
    assert http.get(f"/openai/v1/videos/{video_id}/content").status_code == 503  # faults reach this dialect too
    content = http.get(f"/openai/v1/videos/{video_id}/content")
    assert hashlib.sha256(content.content).hexdigest() == truth_of(emu, video_id)["sha256"]
    assert truth_of(emu, video_id)["dialect"] != "relay-unified"
