"""The relay-compatible door (issue 12 item 7): an app written for the relay switches only its base URL.

Sends the seed's own example bodies (shared/reference/seed-relay-api.md) to a real gateway on the emulator.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.gateway.helpers import bearer, wait_for
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer


def wait_task(http: httpx.Client, task_id: str, key: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v2/videos/generations/{task_id}", headers=bearer(key)).json()
        return body if body["status"] in ("SUCCESS", "FAILURE") else None

    result: dict[str, Any] = wait_for(done)
    return result


def emu_bodies(emulator: EmulatorServer) -> list[dict[str, Any]]:
    return [j.body for j in emulator.state.jobs.values() if j.dialect == "relay-unified"]


def test_seed_example_body_and_integer_times(http: httpx.Client, key: str) -> None:
    """seed: `{"prompt": "make animate", "model": "sora-2", "aspect_ratio": "16:9", "hd": false, "duration": "10"}`
    and the query example `"submit_time": 1756693797, "start_time": 1756693808, "finish_time": 1756693898`."""
    body = {"prompt": "make animate", "model": "sora-2", "aspect_ratio": "16:9", "hd": False, "duration": "10"}
    created = http.post("/v2/videos/generations", json=body, headers=bearer(key))
    assert created.status_code == 200, created.text
    task_id = created.json()["task_id"]
    early = http.get(f"/v2/videos/generations/{task_id}", headers=bearer(key)).json()
    assert all(isinstance(early[k], int) for k in ("submit_time", "start_time", "finish_time")), early
    task = wait_task(http, task_id, key)
    assert task["status"] == "SUCCESS" and task["progress"] == "100%" and task["data"]["output"]
    times = [task[k] for k in ("submit_time", "start_time", "finish_time")]
    assert all(isinstance(t, int) and t > 1_700_000_000 for t in times) and times == sorted(times), task


def test_seed_storyboard_example_is_accepted(http: httpx.Client, key: str) -> None:
    """seed: "Shot 1:\\nduration: 7.5sec\\nScene: 飞机起飞\\n\\nShot 2:\\nduration: 7.5sec\\nScene: 飞机降落" sent with
    `"model": "sora-2", "aspect_ratio": "16:9", "hd": false, "duration": "10"`."""
    prompt = "Shot 1:\nduration: 7.5sec\nScene: 飞机起飞\n\nShot 2:\nduration: 7.5sec\nScene: 飞机降落"
    body = {"prompt": prompt, "model": "sora-2", "aspect_ratio": "16:9", "hd": False, "duration": "10"}
    r = http.post("/v2/videos/generations", json=body, headers=bearer(key))
    assert r.status_code == 200, r.text


def test_veo_flags_pass_through_where_the_model_takes_them(
    http: httpx.Client, key: str, emulator: EmulatorServer
) -> None:
    """relay-platforms.md §4 (the relay's Veo routes on /v2): "`enhance_prompt` (bool; Veo is English-only, enable
    to auto-translate CN→EN; "一般是false"), `enable_upsample` (bool; "返回 1080p 视频")"."""
    body = {"prompt": "a red kite", "model": "veo3", "aspect_ratio": "16:9", "enhance_prompt": True,
            "enable_upsample": True}  # fmt: skip
    r = http.post("/v2/videos/generations", json=body, headers=bearer(key))
    assert r.status_code == 200, r.text
    (sent,) = [b for b in emu_bodies(emulator) if b["model"] == "veo3"]
    assert sent["enhance_prompt"] is True and sent["enable_upsample"] is True
    # false is the relay's default: apps send it to every model; dropped where the model has no such flag
    sora = {"prompt": "make animate", "model": "sora-2", "duration": "10", "enhance_prompt": False}
    assert http.post("/v2/videos/generations", json=sora, headers=bearer(key)).status_code == 200
    assert all("enhance_prompt" not in b for b in emu_bodies(emulator) if b["model"] == "sora-2")
    bad = http.post("/v2/videos/generations", json={**sora, "enable_upsample": True}, headers=bearer(key))
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "enable_upsample"
    assert "Veo option" in bad.json()["error"]["message"]


def test_sora_characters_route_is_the_relays_and_tenant_scoped(
    gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer
) -> None:
    """seed: "`POST /sora/v1/characters` (JSON) creates a reusable character" with `timestamps` and exactly one of
    `url` / `from_task`; response `{"id": "ch_…", "username", "permalink", "profile_picture_url"}`; "`username` is
    what goes after `@` in prompts"."""
    alice, bob = gateway.create_key("alice"), gateway.create_key("bob")
    r = http.post("/sora/v1/characters", json={"timestamps": "1,2", "url": "https://93.184.216.34/cat.mp4"},
                  headers=bearer(alice))  # fmt: skip
    assert r.status_code == 200, r.text
    cat = r.json()
    assert set(cat) == {"id", "username", "permalink", "profile_picture_url"} and cat["id"].startswith("ch_")
    # from_task: a task this key made on /v2
    body = {"prompt": "make animate", "model": "sora-2", "aspect_ratio": "16:9", "hd": False, "duration": "10"}
    task_id = http.post("/v2/videos/generations", json=body, headers=bearer(alice)).json()["task_id"]
    assert wait_task(http, task_id, alice)["status"] == "SUCCESS"
    mine = http.post("/sora/v1/characters", json={"timestamps": "0,2", "from_task": task_id}, headers=bearer(alice))
    assert mine.status_code == 200, mine.text
    theirs = http.post("/sora/v1/characters", json={"timestamps": "0,2", "from_task": task_id}, headers=bearer(bob))
    assert theirs.status_code == 404  # another key's task does not exist for bob
    two = {"timestamps": "0,2", "from_task": task_id, "url": "https://93.184.216.34/x.mp4"}
    both = http.post("/sora/v1/characters", json=two, headers=bearer(alice))
    assert both.status_code == 400
    # only alice may mention her character
    mention = {"prompt": f"@{cat['username']} 在一个舞台上跳舞", "model": "sora-2", "duration": "10"}
    refused = http.post("/v2/videos/generations", json=mention, headers=bearer(bob))
    assert refused.status_code == 400, refused.text
    ok = http.post("/v2/videos/generations", json=mention, headers=bearer(alice))
    assert ok.status_code == 200, ok.text
    assert any(b["prompt"] == mention["prompt"] for b in emu_bodies(emulator))
    listed = http.get("/v1/videos/characters", headers=bearer(alice)).json()["data"]
    assert {c["id"] for c in listed} == {cat["id"], mine.json()["id"]}
    assert http.get("/v1/videos/characters", headers=bearer(bob)).json()["data"] == []


def test_the_openapi_document_lists_the_relay_door(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    assert "/sora/v1/characters" in doc["paths"] and "/v2/videos/generations" in doc["paths"]
    text = str(doc)
    assert "enhance_prompt" in text and "enable_upsample" in text
