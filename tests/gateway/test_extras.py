"""Characters per key, CORS, and models whose create streams the whole generation (queued for a worker)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.gateway.helpers import EMU_KEY_ENV, bearer, env_for, gateway_config, wait_done
from vidgate.emulator import EmulatorServer
from vidgate.server import RouteConfig
from vidgate.server.run import GatewayServer


def test_characters_belong_to_their_key(gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer) -> None:
    alice, bob = gateway.create_key("alice"), gateway.create_key("bob")
    video = http.post("/v1/videos", json={"prompt": "a cat on a sofa", "seconds": "10"}, headers=bearer(alice)).json()
    wait_done(http, video["id"], alice)
    r = http.post("/v1/videos/characters", headers=bearer(alice),
                  json={"timestamps": "1,2", "from_task": video["id"], "name": "cat"})  # fmt: skip
    assert r.status_code == 200, r.text
    character = r.json()
    assert character["object"] == "character" and character["username"] and character["name"] == "cat"
    assert emulator.state.counts["POST /sora/v1/characters"] == 1
    assert http.get(f"/v1/videos/characters/{character['id']}", headers=bearer(alice)).json() == character
    assert [c["id"] for c in http.get("/v1/videos/characters", headers=bearer(alice)).json()["data"]] == [
        character["id"]
    ]
    assert http.get(f"/v1/videos/characters/{character['id']}", headers=bearer(bob)).status_code == 404
    assert http.get("/v1/videos/characters", headers=bearer(bob)).json()["data"] == []
    # only its owner's requests may use it: another key mentioning it is refused before anything is sent
    creates = emulator.state.counts["POST /v2/videos/generations"]
    mention = {"prompt": f"@{character['username']} waves hello", "seconds": "10"}
    crossing = http.post("/v1/videos", json=mention, headers=bearer(bob))
    assert crossing.status_code == 400 and crossing.json()["error"]["param"] == "prompt", crossing.text
    assert character["username"] in crossing.json()["error"]["message"]
    relay = http.post("/v2/videos/generations", headers=bearer(bob), json={**mention, "model": "sora-2"})
    assert relay.status_code == 400
    assert emulator.state.counts["POST /v2/videos/generations"] == creates
    own = http.post("/v1/videos", json=mention, headers=bearer(alice))
    assert own.status_code == 200, own.text
    assert emulator.state.counts["POST /v2/videos/generations"] == creates + 1
    bad = http.post(
        "/v1/videos/characters", headers=bearer(alice), json={"timestamps": "1,9", "from_task": video["id"]}
    )
    assert bad.status_code == 400  # a 1..3 s window, checked before anything is sent
    ssrf = http.post("/v1/videos/characters", headers=bearer(alice),
                     json={"timestamps": "1,2", "url": "http://169.254.169.254/v.mp4"})  # fmt: skip
    assert ssrf.status_code == 400 and ssrf.json()["error"]["param"] == "url"
    upload = http.post("/v1/videos/characters", headers=bearer(alice), data={"name": "x"},
                       files={"video": ("v.mp4", b"\0\0\0\x18ftypmp42", "video/mp4")})  # fmt: skip
    assert upload.status_code == 400 and upload.json()["error"]["code"] == "unsupported_parameter"
    assert emulator.state.counts["POST /sora/v1/characters"] == 1


def test_cors(emulator: EmulatorServer, tmp_path: Path) -> None:
    config = gateway_config(emulator, tmp_path, cors_origins=["https://app.example.com"])
    with GatewayServer(config, env=env_for(emulator, tmp_path)) as gw, httpx.Client(base_url=gw.url) as http:
        ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        ok = http.options("/v1/videos", headers={"Origin": "https://app.example.com", **ask})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://app.example.com"
        other = http.options("/v1/videos", headers={"Origin": "https://evil.example.net", **ask})
        assert "access-control-allow-origin" not in other.headers


def test_streamed_creates_are_sent_by_the_worker(emulator: EmulatorServer, tmp_path: Path) -> None:
    routes = [RouteConfig(name="chat", provider="relay-chat", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp_path, routes=routes)
    with GatewayServer(config, env=env_for(emulator, tmp_path)) as gw, \
            httpx.Client(base_url=gw.url, timeout=30) as http:  # fmt: skip
        key = gw.create_key()
        r = http.post("/v1/videos", json={"prompt": "a red kite", "model": "relay-chat/sora_video2"},
                      headers=bearer(key))  # fmt: skip
        assert r.status_code == 200 and r.json()["status"] == "queued"  # answered at once; the stream runs elsewhere
        assert wait_done(http, r.json()["id"], key)["status"] == "completed"
