"""Reference media URLs among the options (Seedance's reference videos and audios, Luma's source, ...) are held to
the same rule as image URLs: a private, loopback or metadata address is refused with a 400 naming the option,
before anything is stored or sent."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.gateway.helpers import EMU_KEY_ENV, bearer, env_for, gateway_config, wait_done
from vidgate.emulator import EmulatorServer
from vidgate.server.config import RouteConfig
from vidgate.server.gateway import option_urls
from vidgate.server.run import GatewayServer

SEEDANCE = "ark/doubao-seedance-2-0-260128"


def test_option_urls_are_found_with_their_paths() -> None:
    options = {"reference_videos": ["https://a.example/v.mp4", "mm_file://1"], "audio_url": "http://b.example/a",
               "nested": {"deep": [{"url": "https://c.example"}]}, "seed": 3}  # fmt: skip
    assert list(option_urls(options)) == [
        ("options.reference_videos[0]", "https://a.example/v.mp4"),
        ("options.audio_url", "http://b.example/a"),
        ("options.nested.deep[0].url", "https://c.example"),
    ]
    deep: object = "https://d.example"
    for _ in range(50):
        deep = [deep]
    assert list(option_urls({"x": deep})) == []  # not walked past a few levels, never a RecursionError


def test_private_reference_urls_are_refused(emulator: EmulatorServer, tmp_path: Path) -> None:
    routes = [RouteConfig(name="ark", provider="ark", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp_path, routes=routes)
    with (
        GatewayServer(config, env=env_for(emulator, tmp_path)) as gw,
        httpx.Client(base_url=gw.url, timeout=30) as http,
    ):
        key = gw.create_key("alice")
        for options, param in (
            ({"reference_videos": ["http://169.254.169.254/latest/meta-data/"]}, "options.reference_videos[0]"),
            ({"reference_audios": ["http://127.0.0.1:9/a.mp3"]}, "options.reference_audios[0]"),
        ):
            body = {"prompt": "x", "model": SEEDANCE, "seconds": "5", "options": options}
            answer = http.post("/v1/videos", json=body, headers=bearer(key))
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["param"] == param and answer.json()["error"]["code"] == "invalid_url"
    assert emulator.state.counts["POST /api/v3/contents/generations/tasks"] == 0


def test_tenants_cannot_name_what_belongs_to_the_shared_provider_account(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    """Provider-side ids are shared by every key: file ids (mm_file://...) are refused unless the operator allows
    them, and Luma's ``source`` may name only a generation one of the caller's own jobs made."""
    routes = [RouteConfig(name=p, provider=p, base_url=emulator.url, api_key_env=EMU_KEY_ENV)
              for p in ("luma", "minimax")]  # fmt: skip
    config = gateway_config(emulator, tmp_path, routes=routes)
    with (
        GatewayServer(config, env=env_for(emulator, tmp_path)) as gw,
        httpx.Client(base_url=gw.url, timeout=30) as http,
    ):
        alice, bob = gw.create_key("alice"), gw.create_key("bob")
        body = {"prompt": "x", "model": "minimax/MiniMax-H3", "seconds": "5",
                "options": {"reference_videos": ["mm_file://123456"]}}  # fmt: skip
        refused = http.post("/v1/videos", json=body, headers=bearer(alice))
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "account_id_refused"
        assert refused.json()["error"]["param"] == "options.reference_videos[0]"
        made = http.post("/v1/videos", json={"prompt": "a harbour", "model": "luma/ray-3.2", "seconds": "5"},
                         headers=bearer(alice))  # fmt: skip
        assert made.status_code == 200, made.text
        wait_done(http, made.json()["id"], alice)
        generation = gw.gateway.store.get(made.json()["id"]).provider_task_id
        reframe = {"prompt": "wider", "model": "luma/ray-3.2", "seconds": "5",
                   "options": {"type": "video_reframe", "source": generation}}  # fmt: skip
        other = http.post("/v1/videos", json=reframe, headers=bearer(bob))
        assert other.status_code == 400 and other.json()["error"]["param"] == "options.source"
        own = http.post("/v1/videos", json=reframe, headers=bearer(alice))
        assert own.status_code == 200, own.text
