"""The webhook receiver over real HTTP on loopback (uvicorn in a thread, port 0), with a frozen clock.

Each case is delivered as a sender would; ``on_hint`` must run exactly once per distinct event, and the
answer must tell the sender whether to retry (2xx no, anything else yes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from vidgate.net.loopback import LoopbackServer
from vidgate.webhooks import (
    RelayNotifySource,
    RelayNotifyTokens,
    StandardWebhookSource,
    WebhookConfigError,
    WebhookHint,
    WebhookReceiver,
    generate_secret,
    sign_headers,
)

NOW = 1_790_000_000.0  # frozen clock (2026-09-21)
OPENAI_SECRET = generate_secret()
GEMINI_SECRET = generate_secret()
NOTIFY_KEY = RelayNotifyTokens.generate_key()
KNOWN_JOBS = {"job_known", "job_flaky"}


AsgiServer = LoopbackServer  # a real uvicorn server for any ASGI app on 127.0.0.1


class Recorder:
    def __init__(self) -> None:
        self.hints: list[WebhookHint] = []
        self.fail_next = 0
        self._lock = threading.Lock()

    async def __call__(self, hint: WebhookHint) -> None:
        await asyncio.sleep(0.01)  # widen the window for concurrent duplicates
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise RuntimeError("store unavailable")
            self.hints.append(hint)


class Env:
    def __init__(self, url: str, receiver: WebhookReceiver, recorder: Recorder, clock: list[float]) -> None:
        self.url = url
        self.receiver = receiver
        self.recorder = recorder
        self.clock = clock
        self.http = httpx.Client(base_url=url, timeout=10)

    def openai(
        self, body: bytes, *, wid: str = "evt_1", ts: float = NOW, secret: str = OPENAI_SECRET
    ) -> httpx.Response:
        hdrs = sign_headers(secret, body, webhook_id=wid, timestamp=int(ts))
        return self.http.post("/hooks/openai", content=body, headers=hdrs | {"content-type": "application/json"})

    def gemini(self, body: bytes, *, wid: str = "wh_1", ts: float = NOW) -> httpx.Response:
        hdrs = sign_headers(GEMINI_SECRET, body, webhook_id=wid, timestamp=int(ts))
        return self.http.post("/hooks/gemini", content=body, headers=hdrs)


def openai_event(event: str = "video.completed", video: str = "video_1", evt: str = "evt_1") -> bytes:
    return json.dumps(
        {"id": evt, "object": "event", "created_at": int(NOW), "type": event, "data": {"id": video}}
    ).encode()


def gemini_event(event: str = "video.generated", op: str = "op_1") -> bytes:
    return json.dumps(
        {"type": event, "version": "v1", "timestamp": "2026-09-21T12:00:00Z", "data": {"id": op}}
    ).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, WebhookReceiver, list[float]]]:
    clock = [NOW]

    async def job_exists(job_id: str) -> bool:
        return job_id in KNOWN_JOBS

    receiver = WebhookReceiver(
        on_hint=Recorder(),
        sources=[StandardWebhookSource.openai(OPENAI_SECRET), StandardWebhookSource.gemini(GEMINI_SECRET)],
        relay=RelayNotifySource(RelayNotifyTokens(NOTIFY_KEY), job_exists=job_exists),
        clock=lambda: clock[0],
        max_body_bytes=4096,
    )
    with AsgiServer(receiver.app()) as srv:
        yield srv.url, receiver, clock


@pytest.fixture
def env(server: tuple[str, WebhookReceiver, list[float]]) -> Iterator[Env]:
    url, receiver, clock = server
    recorder = Recorder()
    receiver.on_hint = recorder
    receiver.seen = type(receiver.seen)()
    receiver.counts.clear()
    clock[0] = NOW
    e = Env(url, receiver, recorder, clock)
    yield e
    e.http.close()


# ------------------------------------------------------------------------------------------- OpenAI


def test_valid_delivery_calls_back_once(env: Env) -> None:
    r = env.openai(openai_event())
    assert r.status_code == 200 and r.json() == {"status": "accepted"}
    [hint] = env.recorder.hints
    assert (hint.provider, hint.provider_task_id, hint.event_type, hint.webhook_id) == (
        "openai",
        "video_1",
        "video.completed",
        "evt_1",
    )
    assert hint.received_at == NOW


def test_duplicate_is_acknowledged_and_changes_nothing(env: Env) -> None:
    body = openai_event()
    assert env.openai(body).json() == {"status": "accepted"}
    env.clock[0] = NOW + 30
    r = env.openai(body)  # the sender retried the same delivery (same webhook-id)
    assert r.status_code == 200 and r.json() == {"status": "duplicate"}
    assert len(env.recorder.hints) == 1


def test_concurrent_duplicates_call_back_exactly_once(env: Env) -> None:
    body = openai_event(evt="evt_burst")

    async def burst() -> list[int]:
        hdrs = sign_headers(OPENAI_SECRET, body, webhook_id="evt_burst", timestamp=int(NOW))
        async with httpx.AsyncClient(base_url=env.url) as http:
            rs = await asyncio.gather(*(http.post("/hooks/openai", content=body, headers=hdrs) for _ in range(10)))
        return sorted(r.json()["status"] for r in rs)

    statuses = asyncio.run(burst())
    assert statuses == ["accepted"] + ["duplicate"] * 9
    assert len(env.recorder.hints) == 1


def test_distinct_events_each_call_back(env: Env) -> None:
    assert env.openai(openai_event("video.completed", "video_1", "evt_1"), wid="evt_1").status_code == 200
    assert env.openai(openai_event("video.failed", "video_2", "evt_2"), wid="evt_2").status_code == 200
    assert [h.provider_task_id for h in env.recorder.hints] == ["video_1", "video_2"]


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("tampered_body", 401, "bad_signature"),
        ("wrong_secret", 401, "bad_signature"),
        ("tampered_signature", 401, "bad_signature"),
        ("expired", 401, "timestamp_too_old"),
        ("future", 401, "timestamp_too_new"),
        ("missing_headers", 400, "missing_headers"),
        ("not_json", 400, "malformed_body"),
        ("no_video_id", 400, "malformed_body"),
        ("too_large", 413, "payload_too_large"),
    ],
)
def test_refusals(env: Env, case: str, status: int, code: str) -> None:
    body = openai_event()
    hdrs = sign_headers(OPENAI_SECRET, body, webhook_id="evt_1", timestamp=int(NOW))
    if case == "tampered_body":
        r = env.http.post("/hooks/openai", content=body.replace(b"video_1", b"video_9"), headers=hdrs)
    elif case == "wrong_secret":
        r = env.openai(body, secret=GEMINI_SECRET)
    elif case == "tampered_signature":
        r = env.http.post(
            "/hooks/openai",
            content=body,
            headers=hdrs | {"webhook-signature": "v1,AAAA" + hdrs["webhook-signature"][7:]},
        )
    elif case == "expired":
        r = env.openai(body, ts=NOW - 301)
    elif case == "future":
        r = env.openai(body, ts=NOW + 301)
    elif case == "missing_headers":
        r = env.http.post("/hooks/openai", content=body, headers={"webhook-id": "evt_1"})
    elif case == "not_json":
        r = env.openai(b"<html>")
    elif case == "no_video_id":
        r = env.openai(b'{"type": "video.completed", "data": {}}')
    else:
        r = env.openai(b'{"pad": "' + b"x" * 5000 + b'"}')
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert env.recorder.hints == []
    assert OPENAI_SECRET not in r.text


def test_multiple_signatures_one_valid(env: Env) -> None:
    body = openai_event()
    hdrs = sign_headers(OPENAI_SECRET, body, webhook_id="evt_1", timestamp=int(NOW))
    old = sign_headers(generate_secret(), body, webhook_id="evt_1", timestamp=int(NOW))["webhook-signature"]
    hdrs["webhook-signature"] = f"{old} {hdrs['webhook-signature']}"
    assert env.http.post("/hooks/openai", content=body, headers=hdrs).json() == {"status": "accepted"}
    assert len(env.recorder.hints) == 1


def test_forged_copy_does_not_block_the_real_delivery(env: Env) -> None:
    body = openai_event()
    assert env.openai(body, secret=GEMINI_SECRET).status_code == 401  # forger uses the real webhook-id first
    assert env.openai(body).json() == {"status": "accepted"}
    assert len(env.recorder.hints) == 1


def test_non_video_event_is_ignored_with_200(env: Env) -> None:
    r = env.openai(openai_event("batch.completed", "batch_1"))
    assert r.status_code == 200 and r.json() == {"status": "ignored"}
    assert env.recorder.hints == []


def test_callback_failure_answers_500_and_the_retry_is_accepted(env: Env) -> None:
    env.recorder.fail_next = 1
    body = openai_event()
    r = env.openai(body)
    assert r.status_code == 500 and r.json()["error"]["code"] == "callback_failed"
    assert env.openai(body).json() == {"status": "accepted"}  # the sender's retry
    assert len(env.recorder.hints) == 1


def test_get_is_not_allowed(env: Env) -> None:
    assert env.http.get("/hooks/openai").status_code == 405


# ------------------------------------------------------------------------------------------- Gemini


@pytest.mark.parametrize("event", ["interaction.completed", "interaction.failed", "video.generated"])
def test_gemini_events(env: Env, event: str) -> None:
    r = env.gemini(gemini_event(event, "op_7"), wid=f"wh_{event}")
    assert r.json() == {"status": "accepted"}
    [hint] = env.recorder.hints
    assert (hint.provider, hint.event_type, hint.provider_task_id) == ("gemini", event, "op_7")


def test_gemini_replay_and_batch(env: Env) -> None:
    body = gemini_event()
    assert env.gemini(body).json() == {"status": "accepted"}
    assert env.gemini(body).json() == {"status": "duplicate"}
    assert env.gemini(gemini_event("batch.succeeded"), wid="wh_2").json() == {"status": "ignored"}
    assert len(env.recorder.hints) == 1


def test_gemini_dynamic_jwt_is_refused(env: Env) -> None:
    hdrs = {"webhook-id": "wh_1", "webhook-timestamp": str(int(NOW)), "webhook-signature": "eyJh.eyJz.c2ln"}
    r = env.http.post("/hooks/gemini", content=gemini_event(), headers=hdrs)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unsupported_signature"


def test_openai_signature_does_not_open_the_gemini_route(env: Env) -> None:
    body = gemini_event()
    hdrs = sign_headers(OPENAI_SECRET, body, webhook_id="wh_1", timestamp=int(NOW))
    assert env.http.post("/hooks/gemini", content=body, headers=hdrs).status_code == 401


# -------------------------------------------------------------------------------------------- relay


def test_relay_right_token(env: Env) -> None:
    url = env.receiver.notify_url(env.url, "job_known")
    assert url.startswith(f"{env.url}/hooks/relay/job_known/v1")
    body = json.dumps({"task_id": "t-1", "status": "SUCCESS", "progress": "100%"}).encode()
    r = httpx.post(url, content=body)
    assert r.status_code == 200 and r.json() == {"status": "accepted"}
    [hint] = env.recorder.hints
    assert (hint.provider, hint.job_id, hint.provider_task_id, hint.event_type) == (
        "relay",
        "job_known",
        "t-1",
        "SUCCESS",
    )
    assert httpx.post(url, content=body).json() == {"status": "duplicate"}
    progress = json.dumps({"task_id": "t-1", "status": "IN_PROGRESS", "progress": "50%"}).encode()
    assert httpx.post(url, content=progress).json() == {"status": "accepted"}  # a different notification
    assert len(env.recorder.hints) == 2


def test_relay_undocumented_body_still_hints(env: Env) -> None:
    url = env.receiver.notify_url(env.url, "job_known")
    assert httpx.post(url, content=b"done").json() == {"status": "accepted"}
    assert env.recorder.hints[0].job_id == "job_known" and env.recorder.hints[0].raw is None


def test_relay_wrong_token(env: Env) -> None:
    good = env.receiver.notify_url(env.url, "job_known")
    for bad in (good[:-2] + "xx", f"{env.url}/hooks/relay/job_known/v1guess"):
        r = httpx.post(bad, content=b'{"task_id": "t-1"}')
        assert r.status_code == 401 and r.json()["error"]["code"] == "bad_token"
        assert good.rsplit("/", 1)[1] not in r.text
    # A token issued for one job does not open another job's URL.
    other = env.receiver.notify_url(env.url, "job_flaky").replace("job_flaky", "job_known")
    assert httpx.post(other, content=b"{}").status_code == 401
    assert env.recorder.hints == []


def test_relay_unknown_job(env: Env) -> None:
    # A valid token for a job the store does not have (purged, or never created): a late delivery.
    url = env.receiver.notify_url(env.url, "job_gone")
    r = httpx.post(url, content=b'{"task_id": "t-9", "status": "SUCCESS"}')
    assert r.status_code == 200 and r.json() == {"status": "ignored"}
    # A guessed URL for an unknown job is refused before the store is asked.
    r = httpx.post(f"{env.url}/hooks/relay/job_gone/v1AAAA", content=b"{}")
    assert r.status_code == 401
    assert env.recorder.hints == []


def test_relay_token_from_another_installation(env: Env) -> None:
    foreign = RelayNotifyTokens(RelayNotifyTokens.generate_key()).token_for("job_known")
    assert httpx.post(f"{env.url}/hooks/relay/job_known/{foreign}", content=b"{}").status_code == 401


# -------------------------------------------------------------------------------------- logs, mount


def test_logs_never_contain_secrets_tokens_or_bodies(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="vidgate.webhooks")
    body = openai_event(video="video_secretive_payload_marker")
    env.openai(body)
    env.openai(body, secret=GEMINI_SECRET, wid="evt_forged")
    url = env.receiver.notify_url(env.url, "job_known")
    httpx.post(url, content=b'{"task_id": "t-1", "prompt": "BODY_MARKER"}')
    httpx.post(url[:-3] + "abc", content=b"BODY_MARKER")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "openai accepted" in text and "bad_signature" in text and "bad_token" in text
    token = url.rsplit("/", 1)[1]
    for secret in (OPENAI_SECRET, GEMINI_SECRET, NOTIFY_KEY, token, token[:-3], "BODY_MARKER"):
        assert secret not in text
    assert "v1," not in text  # no signature either


def test_token_redacting_filter(env: Env) -> None:
    flt = env.receiver.log_filter()
    url = env.receiver.notify_url("https://app.example.com", "job_known")
    token = url.rsplit("/", 1)[1]
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/hooks/relay/job_known/{token}", "1.1", 200),
        None,
    )
    assert flt.filter(record)
    assert token not in record.getMessage() and "/hooks/relay/job_known/***" in record.getMessage()


def test_mounted_into_a_user_app(env: Env) -> None:
    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("user app")

    receiver = WebhookReceiver(
        on_hint=env.recorder, sources=[StandardWebhookSource.openai(OPENAI_SECRET)], clock=lambda: NOW
    )
    user_app = Starlette(routes=[Route("/", home), Mount("/api", app=receiver.app())])
    with AsgiServer(user_app) as srv:
        body = openai_event()
        hdrs = sign_headers(OPENAI_SECRET, body, webhook_id="evt_m", timestamp=int(NOW))
        assert httpx.get(srv.url + "/").text == "user app"
        assert httpx.post(srv.url + "/api/hooks/openai", content=body, headers=hdrs).json() == {"status": "accepted"}
    assert len(env.recorder.hints) == 1


def test_bad_configuration_fails_at_startup() -> None:
    async def noop(hint: WebhookHint) -> None:
        return None

    with pytest.raises(WebhookConfigError, match="'openai'"):
        WebhookReceiver(on_hint=noop, sources=[StandardWebhookSource.openai("whsec_***")])
    with pytest.raises(WebhookConfigError, match="share a route path"):
        WebhookReceiver(
            on_hint=noop,
            sources=[
                StandardWebhookSource.openai(OPENAI_SECRET),
                StandardWebhookSource.gemini(GEMINI_SECRET, path="openai"),
            ],
        )
    with pytest.raises(WebhookConfigError, match="no relay source"):
        WebhookReceiver(on_hint=noop).notify_url("https://x.example", "job_1")


def test_repr_does_not_show_secrets() -> None:
    async def noop(hint: WebhookHint) -> None:
        return None

    receiver = WebhookReceiver(
        on_hint=noop,
        sources=[StandardWebhookSource.openai(OPENAI_SECRET)],
        relay=RelayNotifySource(RelayNotifyTokens(NOTIFY_KEY)),
    )
    text = repr(receiver)
    assert OPENAI_SECRET not in text and OPENAI_SECRET[6:20] not in text and NOTIFY_KEY not in text
