"""Assists through the gateway: a tenant's key plans, frames and reviews its own videos; budgets apply; another
key's video is not found; nothing reads a path."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta

import httpx
from PIL import Image

from tests.gateway.helpers import bearer, wait_done
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer

CHAT = "POST /v1/chat/completions"


def test_plan_frame_video_review_through_one_key(
    gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer, key: str
) -> None:
    plan = http.post("/v1/assists/plan", json={"idea": "a kite over the dunes", "model": "sora-2"}, headers=bearer(key))
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["object"] == "plan" and body["duration"] == 10 and sum(s["seconds"] for s in body["shots"]) == 10

    frame = http.post(
        "/v1/assists/frame",
        json={"description": "a kite", "model": "sora-2", "aspect_ratio": "16:9"},
        headers=bearer(key),
    )
    assert frame.status_code == 200, frame.text
    data = base64.b64decode(frame.json()["b64_json"])
    with Image.open(io.BytesIO(data)) as im:
        assert im.width > im.height

    made = http.post(
        "/v1/videos",
        json={"prompt": "a kite over the dunes", "model": "sora-2", "seconds": "10", "size": "1280x720"},
        headers=bearer(key),
    )
    assert made.status_code == 200, made.text
    video_id = made.json()["id"]
    wait_done(http, video_id, key)
    review = http.post("/v1/assists/review", json={"video_id": video_id}, headers=bearer(key))
    assert review.status_code == 200, review.text
    assert review.json()["matches"] is True and review.json()["prompt"] == "a kite over the dunes"
    shown = http.get(f"/v1/videos/{video_id}", headers=bearer(key)).json()
    assert shown["vidgate"]["review"]["matches"] is True  # what the console's job card shows
    assert emulator.state.counts[CHAT] == 3

    # the provider's link has expired: the gateway's saved file goes inline to :generateContent instead
    store = gateway.gateway.store
    job = store.get(video_id)
    past = datetime.now(UTC) - timedelta(hours=1)
    store.save(job.model_copy(update={"assets": [a.model_copy(update={"expires_at": past}) for a in job.assets]}))
    inline = http.post("/v1/assists/review", json={"video_id": video_id}, headers=bearer(key))
    assert inline.status_code == 200, inline.text
    assert inline.json()["chat_model"].endswith(":generateContent")
    assert emulator.state.counts["POST /v1beta/models/{model}:generateContent"] == 1

    other = gateway.create_key("mallory")
    stolen = http.post("/v1/assists/review", json={"video_id": video_id}, headers=bearer(other))
    assert stolen.status_code == 404


def test_refusals_and_budgets(gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer, key: str) -> None:
    cases = [
        ("/v1/assists/review", {"video_url": "https://cdn.example/v.mp4", "chat_model": "gpt-4o-image"}, 400),
        ("/v1/assists/plan", {"idea": "a journey", "model": "sora-2", "duration": 15}, 400),
        ("/v1/assists/frame", {"description": "x", "model": "sora-2", "image": "/etc/passwd"}, 400),
        ("/v1/assists/review", {"video_url": "file:///etc/passwd"}, 400),
        ("/v1/assists/review", {}, 400),
        ("/v1/assists/plan", {"idea": "x", "model": "sora-2", "extra": 1}, 400),
    ]
    for path, body, status in cases:
        answer = http.post(path, json=body, headers=bearer(key))
        assert answer.status_code == status, (path, answer.text)
    assert emulator.state.counts.get(CHAT, 0) == 0
    assert http.post("/v1/assists/plan", json={"idea": "x", "model": "sora-2"}).status_code == 401

    budgeted = gateway.create_key("budgeted", budget_usd=0.015)
    unknown = http.post("/v1/assists/plan", json={"idea": "a fox", "model": "sora-2"}, headers=bearer(budgeted))
    assert unknown.status_code == 402 and unknown.json()["error"]["code"] == "price_unknown"
    gateway.gateway.config.prices["relay/gemini-2.5-pro-preview-05-06"] = 0.01
    assert (
        http.post("/v1/assists/plan", json={"idea": "a fox", "model": "sora-2"}, headers=bearer(budgeted)).status_code
        == 200
    )
    over = http.post("/v1/assists/plan", json={"idea": "a fox", "model": "sora-2"}, headers=bearer(budgeted))
    assert over.status_code == 402 and over.json()["error"]["code"] == "budget_exceeded"
    assert emulator.state.counts[CHAT] == 1
