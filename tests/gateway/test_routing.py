"""Routing from the config file: per-route hosts and keys; fallback only on definitive refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.helpers import EMU_KEY_ENV, bearer, env_for, gateway_config, wait_done
from vidgate.emulator import EmulatorServer
from vidgate.errors import ConfigurationError
from vidgate.server import RouteConfig, load_config
from vidgate.server.run import GatewayServer

CREATE = "POST /v2/videos/generations"


@pytest.fixture
def routed(emulator: EmulatorServer, tmp_path: Path) -> Iterator[tuple[GatewayServer, httpx.Client, str]]:
    routes = [
        RouteConfig(name="refusing", provider="relay", base_url=emulator.url, api_key_env="WRONG_KEY",
                    models=["sora-2-pro", "sora-2"]),
        RouteConfig(name="good", provider="relay", base_url=emulator.url, api_key_env=EMU_KEY_ENV, models=["sora-2"]),
        RouteConfig(name="flaky", provider="relay-openai", base_url=emulator.url, api_key_env=EMU_KEY_ENV),
        RouteConfig(name="spare", provider="relay-openai", base_url=emulator.url, api_key_env=EMU_KEY_ENV),
    ]  # fmt: skip
    config = gateway_config(emulator, tmp_path, routes=routes)
    config.fallbacks["relay/sora-2-pro"] = ["good:relay/sora-2"]
    env = env_for(emulator, tmp_path, WRONG_KEY="sk-not-the-right-one")
    with GatewayServer(config, env=env) as gw, httpx.Client(base_url=gw.url, timeout=30) as http:
        yield gw, http, gw.create_key("routes")


def test_a_refused_create_falls_back_to_the_next_route(
    routed: tuple[GatewayServer, httpx.Client, str], emulator: EmulatorServer
) -> None:
    gw, http, key = routed
    r = http.post("/v1/videos", json={"prompt": "a kite", "model": "sora-2", "seconds": "10"}, headers=bearer(key))
    video = r.json()
    assert r.status_code == 200 and video["vidgate"]["route"] == "good"
    assert any("after a refusal" in w for w in video["vidgate"]["warnings"])
    assert emulator.state.counts[CREATE] == 2  # one 401 from the refusing route, one accepted
    assert wait_done(http, video["id"], key)["status"] == "completed"
    jobs = gw.gateway.store.list_jobs(owner=key.split("_")[1]).jobs
    refused = next(j for j in jobs if j.route == "refusing")
    assert refused.status.value == "failed" and refused.error is not None and refused.error.code.value == "auth"
    assert refused.credentials_ref == "WRONG_KEY"  # the env var name, never the key
    assert "vidgate_route_fallbacks" in http.get("/metrics").text


def test_the_fallback_model_is_checked_again(
    routed: tuple[GatewayServer, httpx.Client, str], emulator: EmulatorServer
) -> None:
    _, http, key = routed
    ok = http.post("/v2/videos/generations", headers=bearer(key),
                   json={"prompt": "p", "model": "sora-2-pro", "duration": "10"}).json()  # fmt: skip
    assert http.get(f"/v1/videos/{ok['task_id']}", headers=bearer(key)).json()["model"] == "relay/sora-2"
    emulator.state.reset()
    # 25 s is a sora-2-pro length: the fallback (sora-2: 10 or 15 s) cannot take it, so it is not tried
    r = http.post("/v2/videos/generations", headers=bearer(key),
                  json={"prompt": "p", "model": "sora-2-pro", "duration": "25"})  # fmt: skip
    task = http.get(f"/v2/videos/generations/{r.json()['task_id']}", headers=bearer(key)).json()
    assert task["status"] == "FAILURE" and "401" in task["fail_reason"]
    assert emulator.state.counts[CREATE] == 1


def test_an_unknown_outcome_never_falls_back(
    routed: tuple[GatewayServer, httpx.Client, str], emulator: EmulatorServer
) -> None:
    _, http, key = routed
    emulator.set_faults({"rules": [{"endpoint": "POST /v1/videos", "kind": "accept_then_drop", "count": 1}]})
    try:
        r = http.post("/v1/videos", headers=bearer(key),
                      json={"prompt": "p", "model": "relay-openai/sora-2", "seconds": "10"})  # fmt: skip
    finally:
        emulator.set_faults(None)
    video = r.json()
    assert r.status_code == 200 and video["vidgate"]["route"] == "flaky"
    assert video["vidgate"]["status"] == "unknown"
    # nothing will resolve it on its own (this protocol has no idempotent create): a person decides, and an
    # OpenAI client's poll stops here rather than loop on "queued" forever
    assert video["status"] == "failed" and video["error"]["code"] == "outcome_unknown"
    assert "vidgate jobs retry" in video["error"]["message"]
    assert emulator.state.counts["POST /v1/videos"] == 1  # the spare route was never asked: it may be paid twice


def test_missing_route_key_is_a_clear_503(emulator: EmulatorServer, tmp_path: Path) -> None:
    routes = [RouteConfig(name="r", provider="relay", base_url=emulator.url, api_key_env="UNSET_KEY_VAR")]
    with GatewayServer(gateway_config(emulator, tmp_path, routes=routes), env=env_for(emulator, tmp_path)) as gw, \
            httpx.Client(base_url=gw.url) as http:  # fmt: skip
        r = http.post("/v1/videos", json={"prompt": "p", "seconds": "10"}, headers=bearer(gw.create_key()))
    assert r.status_code == 503 and "UNSET_KEY_VAR" in r.json()["error"]["message"]
    assert sum(emulator.state.counts.values()) == 0


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[server]\nmax_body_bytes = 2048\n\n[[routes]]\nname = "main"\nprovider = "relay"\n'
        'base_url_env = "MAIN_URL"\napi_key_env = "MAIN_KEY"\nmodels = ["sora-2"]\n\n'
        '[fallbacks]\n"relay/sora-2" = ["main:relay/sora-2-pro"]\n\n[prices]\n"relay/sora-2" = 0.1\n'
    )
    config = load_config(path)
    assert config.routes[0].api_key_env == "MAIN_KEY" and config.server.max_body_bytes == 2048
    path.write_text('[[routes]]\nname = "x"\nprovider = "relay"\napi_key = "sk-secret-in-file"\n')
    with pytest.raises(ConfigurationError, match="api_key"):
        load_config(path)  # secrets never go in the file: only env var names
