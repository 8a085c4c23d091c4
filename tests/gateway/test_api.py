"""The gateway's HTTP API against the emulator: OpenAI-compatible /v1/videos, relay /v2, models, SSE, ops."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import image_bytes
from tests.gateway.helpers import bearer, wait_done
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer


def create(http: httpx.Client, key: str, **body: object) -> dict[str, object]:
    payload = {"prompt": "a lighthouse at dawn", "model": "sora-2", "seconds": "10", "size": "1280x720", **body}
    r = http.post("/v1/videos", json=payload, headers=bearer(key))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_create_poll_download_with_range(http: httpx.Client, key: str, emulator: EmulatorServer) -> None:
    video = create(http, key)
    assert video["object"] == "video" and video["status"] == "queued" and video["model"] == "relay/sora-2"
    assert video["seconds"] == "10" and video["size"] == "1280x720"
    done = wait_done(http, str(video["id"]), key)
    assert done["status"] == "completed" and done["progress"] == 100
    assert done["vidgate"]["video"]["probe"]["duration"] == pytest.approx(10, abs=0.5)
    assert emulator.state.counts["POST /v2/videos/generations"] == 1
    whole = http.get(f"/v1/videos/{video['id']}/content", headers=bearer(key))
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content[4:8] == b"ftyp"
    part = http.get(f"/v1/videos/{video['id']}/content", headers={**bearer(key), "Range": "bytes=10-109"})
    assert part.status_code == 206 and part.content == whole.content[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{len(whole.content)}"
    head = http.head(f"/v1/videos/{video['id']}/content", headers=bearer(key))
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == len(whole.content)
    signed = httpx.get(done["vidgate"]["links"]["video"])  # no key: the signed link is the credential
    assert signed.status_code == 200 and signed.content == whole.content
    assert httpx.head(done["vidgate"]["links"]["video"]).headers["content-length"] == str(len(whole.content))
    tampered = done["vidgate"]["links"]["video"].replace("signature=", "signature=x")
    assert httpx.get(tampered).status_code == 403


def test_validation_errors_are_field_level_and_openai_shaped(
    http: httpx.Client, key: str, emulator: EmulatorServer
) -> None:
    r = http.post("/v1/videos", json={"prompt": "x", "model": "sora-2", "seconds": "7", "size": "1024x1024"},
                  headers=bearer(key))  # fmt: skip
    assert r.status_code == 400
    error = r.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_value"
    params = {p["param"] for p in error["problems"]}
    assert params == {"seconds", "size"}  # vidgate's duration and aspect ratio, in the OpenAI API's names
    assert any("Allowed: 10 s" in p["message"] for p in error["problems"])  # relay sora-2: 10 s (15 s is pro's)
    unknown = http.post("/v1/videos", json={"prompt": "x", "colour": "red"}, headers=bearer(key))
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "colour"
    bad_model = http.post("/v1/videos", json={"prompt": "x", "model": "sora-3"}, headers=bearer(key))
    assert bad_model.status_code == 400 and bad_model.json()["error"]["code"] == "model_not_found"
    assert "GET /v1/models" in bad_model.json()["error"]["message"]  # API words, not a CLI command
    assert "vidgate models" not in bad_model.json()["error"]["message"]
    assert sum(emulator.state.counts.values()) == 0


def test_multipart_with_input_reference(http: httpx.Client, key: str, emulator: EmulatorServer) -> None:
    files = {"input_reference": ("frame.png", image_bytes((1280, 720)), "image/png")}
    data = {"prompt": "the frame comes alive", "model": "sora-2", "seconds": "10", "size": "1280x720"}
    r = http.post("/v1/videos", data=data, files=files, headers=bearer(key))
    assert r.status_code == 200, r.text
    done = wait_done(http, r.json()["id"], key)
    assert done["status"] == "completed"
    (body,) = [j.body for j in emulator.state.jobs.values()]
    assert body["images"][0].startswith("data:image/png;base64,")


def test_list_is_paginated_newest_first(http: httpx.Client, key: str) -> None:
    ids = [create(http, key, prompt=f"clip {i}")["id"] for i in range(3)]
    page = http.get("/v1/videos", params={"limit": 2}, headers=bearer(key)).json()
    assert page["object"] == "list" and page["has_more"] is True
    assert [v["id"] for v in page["data"]] == ids[::-1][:2]
    rest = http.get("/v1/videos", params={"limit": 2, "after": page["last_id"]}, headers=bearer(key)).json()
    assert [v["id"] for v in rest["data"]] == [ids[0]] and rest["has_more"] is False
    asc = http.get("/v1/videos", params={"order": "asc", "limit": 10}, headers=bearer(key)).json()
    assert [v["id"] for v in asc["data"]] == ids
    bad = http.get("/v1/videos", params={"after": "job_nope"}, headers=bearer(key))
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "after"


def test_delete_remix_cancel(http: httpx.Client, key: str, emulator: EmulatorServer) -> None:
    running = create(http, key)
    refused = http.delete(f"/v1/videos/{running['id']}", headers=bearer(key))
    assert refused.status_code in (200, 400)  # it may already be finished on the fast emulator
    video = wait_done(http, str(running["id"]), key)
    gone = http.delete(f"/v1/videos/{video['id']}", headers=bearer(key))
    assert gone.json() == {"id": video["id"], "object": "video.deleted", "deleted": True}
    assert http.get(f"/v1/videos/{video['id']}", headers=bearer(key)).status_code == 404

    source = create(http, key, model="relay-openai/sora-2")
    wait_done(http, str(source["id"]), key)
    remix = http.post(f"/v1/videos/{source['id']}/remix", json={"prompt": "now at night"}, headers=bearer(key))
    assert remix.status_code == 200, remix.text
    remixed = wait_done(http, remix.json()["id"], key)
    assert remixed["status"] == "completed" and remixed["remixed_from_video_id"] == source["id"]
    assert emulator.state.counts["POST /v1/videos/{id}/remix"] == 1

    no_remix = http.post(f"/v1/videos/{source['id']}/remix", json={"prompt": ""}, headers=bearer(key))
    assert no_remix.status_code == 400 and no_remix.json()["error"]["param"] == "prompt"


def test_cancel_a_running_job(gateway: GatewayServer, http: httpx.Client, key: str) -> None:
    gateway.gateway.config.server.worker = False  # nothing polls: it stays queued
    video = create(http, key, prompt="slow one")
    r = http.post(f"/v1/videos/{video['id']}/cancel", headers=bearer(key))
    assert r.status_code == 200
    assert r.json()["status"] in ("failed", "completed")


def test_relay_v2_format(http: httpx.Client, key: str) -> None:
    r = http.post("/v2/videos/generations", headers=bearer(key),
                  json={"prompt": "make animate", "model": "sora-2", "aspect_ratio": "16:9", "hd": False,
                        "duration": "10"})  # fmt: skip
    assert r.status_code == 200 and set(r.json()) == {"task_id"}
    task_id = r.json()["task_id"]
    first = http.get(f"/v2/videos/generations/{task_id}", headers=bearer(key)).json()
    assert first["status"] in ("NOT_START", "IN_PROGRESS", "SUCCESS") and first["progress"].endswith("%")

    def success() -> dict[str, object] | None:
        body = http.get(f"/v2/videos/generations/{task_id}", headers=bearer(key)).json()
        return body if body["status"] in ("SUCCESS", "FAILURE") else None

    from tests.gateway.helpers import wait_for

    done = wait_for(success)
    assert done["status"] == "SUCCESS" and done["progress"] == "100%" and done["fail_reason"] == ""
    output = done["data"]["output"]
    assert httpx.get(output).content[4:8] == b"ftyp"  # like the relay's CDN link: no key needed

    failing = http.post("/v2/videos/generations", headers=bearer(key),
                        json={"prompt": "FAIL_POLICY please", "model": "sora-2", "duration": "10"}).json()  # fmt: skip
    failed = wait_for(lambda: (b := http.get(f"/v2/videos/generations/{failing['task_id']}",
                                             headers=bearer(key)).json())["status"] == "FAILURE" and b)  # fmt: skip
    assert failed["fail_reason"] and failed["data"] is None
    bad = http.post("/v2/videos/generations", headers=bearer(key), json={"prompt": "x", "model": "sora-2",
                                                                         "duration": "7"})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "duration"  # the relay's own field name


def test_sse_events_stream_progress_until_done(http: httpx.Client, key: str) -> None:
    video = create(http, key)
    events: list[tuple[str, dict[str, object]]] = []
    with http.stream("GET", f"/v1/videos/{video['id']}/events", headers=bearer(key)) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name:
                events.append((name, json.loads(line.removeprefix("data: "))))
    kinds = [k for k, _ in events]
    assert kinds[0] == "video" and kinds[-1] == "done"
    assert events[-1][1]["status"] == "completed"
    statuses = [e["status"] for _, e in events]
    assert statuses[0] in ("queued", "in_progress")


def test_models_health_metrics_openapi(http: httpx.Client, key: str) -> None:
    models = http.get("/v1/models", headers=bearer(key)).json()
    ids = {m["id"] for m in models["data"]}
    assert "relay/sora-2" in ids and "relay-openai/sora-2" in ids
    assert not any(i.startswith("zhipu/") for i in ids)  # no route serves them
    sora = http.get("/v1/models/relay/sora-2", headers=bearer(key)).json()
    # relay sora-2: 10 s only (seed-relay-api.md: sora-2-pro "supports hd, 15s")
    assert sora["vidgate"]["durations"]["values"] == [10] and "16:9" in sora["vidgate"]["aspect_ratios"]
    assert http.get("/v1/models/zhipu/cogvideox-3", headers=bearer(key)).status_code == 404
    assert http.get("/healthz").json()["status"] == "ok"
    create(http, key)
    metrics = http.get("/metrics").text
    assert 'vidgate_jobs{state="queued"}' in metrics or 'vidgate_jobs{state="running"}' in metrics
    assert "vidgate_provider_request_seconds" in metrics and "vidgate_webhook_deliveries" in metrics
    doc = http.get("/openapi.json").json()
    assert {"/v1/videos", "/v1/videos/{video_id}/content", "/v2/videos/generations", "/v1/models"} <= set(doc["paths"])


def test_metrics_can_need_a_token(gateway: GatewayServer, http: httpx.Client) -> None:
    gw = gateway.gateway
    gw.config.server.metrics_token_env = "TEST_METRICS_TOKEN"
    unset = http.get("/metrics")
    assert unset.status_code == 503 and "TEST_METRICS_TOKEN" in unset.json()["error"]["message"]
    gw.env = {**gw.env, "TEST_METRICS_TOKEN": "scrape-me"}
    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = http.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200 and "vidgate_jobs" in ok.text


def test_auth_is_required(http: httpx.Client) -> None:
    r = http.get("/v1/videos")
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key"
    r = http.get("/v1/videos", headers=bearer("vg_0123456789ab_" + "x" * 43))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
