"""Tenants: one key never sees another's videos; keys are stored hashed; revocation, rate limits, budgets."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.gateway.helpers import bearer, env_for, gateway_config, wait_done
from vidgate.cli import app
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer


def _create(http: httpx.Client, key: str, **extra: object) -> httpx.Response:
    body = {"prompt": "a fox in the snow", "model": "sora-2", "seconds": "10", "size": "1280x720", **extra}
    return http.post("/v1/videos", json=body, headers=bearer(key))


def test_another_key_gets_404_everywhere(gateway: GatewayServer, http: httpx.Client) -> None:
    alice, bob = gateway.create_key("alice"), gateway.create_key("bob")
    video = _create(http, alice).json()
    vid = video["id"]
    wait_done(http, vid, alice)
    for method, path in [
        ("GET", f"/v1/videos/{vid}"),
        ("GET", f"/v1/videos/{vid}/content"),
        ("GET", f"/v1/videos/{vid}/content?variant=thumbnail"),
        ("GET", f"/v1/videos/{vid}/events"),
        ("DELETE", f"/v1/videos/{vid}"),
        ("POST", f"/v1/videos/{vid}/cancel"),
        ("GET", f"/v2/videos/generations/{vid}"),
    ]:
        r = http.request(method, path, headers=bearer(bob))
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"]["code"] == "not_found"
        assert "alice" not in r.text
    r = http.post(f"/v1/videos/{vid}/remix", json={"prompt": "again"}, headers=bearer(bob))
    assert r.status_code == 404
    assert http.get("/v1/videos", headers=bearer(bob)).json()["data"] == []
    assert http.get("/v1/videos", params={"after": vid}, headers=bearer(bob)).status_code == 400
    r = http.post("/v1/videos/characters", json={"timestamps": "1,2", "from_task": vid}, headers=bearer(bob))
    assert r.status_code == 404
    # still all there for alice
    assert http.get(f"/v1/videos/{vid}", headers=bearer(alice)).json()["status"] == "completed"
    assert [v["id"] for v in http.get("/v1/videos", headers=bearer(alice)).json()["data"]] == [vid]


def test_idempotency_keys_are_per_tenant(gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer) -> None:
    alice, bob = gateway.create_key("alice"), gateway.create_key("bob")
    same = {"Idempotency-Key": "order-42"}
    a1 = http.post("/v1/videos", json={"prompt": "p", "seconds": "10"}, headers={**bearer(alice), **same}).json()
    a2 = http.post("/v1/videos", json={"prompt": "p", "seconds": "10"}, headers={**bearer(alice), **same}).json()
    b1 = http.post("/v1/videos", json={"prompt": "p", "seconds": "10"}, headers={**bearer(bob), **same}).json()
    assert a1["id"] == a2["id"] and b1["id"] != a1["id"]
    assert emulator.state.counts["POST /v2/videos/generations"] == 2


def test_keys_are_stored_hashed_and_cli_manages_them(tmp_path: Path, emulator: EmulatorServer) -> None:
    db = tmp_path / "gateway.db"
    runner = CliRunner()
    made = runner.invoke(app, ["keys", "create", "--name", "ci", "--rate-limit", "2", "--database-url", str(db),
                               "--json"])  # fmt: skip
    assert made.exit_code == 0, made.output
    info = json.loads(made.stdout)
    token = info["key"]
    assert token.startswith("vg_" + info["id"] + "_")
    raw = b"".join(db.read_bytes() for db in tmp_path.glob("gateway.db*"))
    assert token.encode() not in raw and token.split("_", 2)[2].encode() not in raw
    with sqlite3.connect(db) as conn:
        (secret_hash,) = conn.execute("SELECT secret_hash FROM api_keys WHERE id = ?", (info["id"],)).fetchone()
    assert len(secret_hash) == 64

    listed = runner.invoke(app, ["keys", "list", "--database-url", str(db), "--json"])
    assert [k["id"] for k in json.loads(listed.stdout)] == [info["id"]]
    assert token not in listed.stdout

    with GatewayServer(gateway_config(emulator, tmp_path), env=env_for(emulator, tmp_path)) as gw, \
            httpx.Client(base_url=gw.url) as http:  # fmt: skip
        assert http.get("/v1/videos", headers=bearer(token)).status_code == 200
        assert (
            http.get("/v1/videos", headers=bearer(token[:-1] + ("A" if token[-1] != "A" else "B"))).status_code == 401
        )
        # the rate limit: 2 creates a minute
        assert _create(http, token).status_code == 200
        assert _create(http, token).status_code == 200
        limited = _create(http, token)
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limit_exceeded"
        assert int(limited.headers["retry-after"]) >= 1
        revoked = runner.invoke(app, ["keys", "revoke", info["id"], "--database-url", str(db)])
        assert revoked.exit_code == 0, revoked.output
        r = http.get("/v1/videos", headers=bearer(token))
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_budget_refuses_before_submit(gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer) -> None:
    gateway.gateway.config.prices["relay/sora-2"] = 0.10  # $1.00 for 10 s
    key = gateway.create_key("capped", budget_usd=1.5)
    assert _create(http, key).status_code == 200
    refused = _create(http, key)
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "budget_exceeded"
    assert "$0.50" in refused.json()["error"]["message"]
    assert emulator.state.counts["POST /v2/videos/generations"] == 1
    unpriced = _create(http, key, model="relay-openai/sora-2")
    assert unpriced.status_code == 402 and unpriced.json()["error"]["code"] == "price_unknown"
    record = gateway.gateway.data.get_key(key.split("_")[1])
    assert record is not None and record.spent_usd == pytest.approx(1.0)


def test_remix_is_charged_like_a_create(gateway: GatewayServer, http: httpx.Client) -> None:
    gateway.gateway.config.prices["relay-openai/sora-2"] = 0.10
    key = gateway.create_key("remixer", budget_usd=1.5)
    video = _create(http, key, model="relay-openai/sora-2").json()
    wait_done(http, video["id"], key)
    refused = http.post(f"/v1/videos/{video['id']}/remix", json={"prompt": "again"}, headers=bearer(key))
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "budget_exceeded"


def test_keys_create_takes_the_gateways_allow_hosts(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    config = tmp_path / "gateway.toml"
    config.write_text(f'[server]\ndatabase_url = "{db}"\nallow_hosts = ["10.0.0.5"]\n')
    runner = CliRunner()
    refused = runner.invoke(app, ["keys", "create", "--name", "a", "--webhook-url", "http://10.0.0.5/h",
                                  "--database-url", str(db)])  # fmt: skip
    assert refused.exit_code == 2 and "--webhook-url is refused" in refused.output
    made = runner.invoke(app, ["keys", "create", "--name", "a", "--webhook-url", "http://10.0.0.5/h",
                               "--config", str(config), "--json"])  # fmt: skip
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["webhook_url"] == "http://10.0.0.5/h"
    unresolvable = runner.invoke(app, ["keys", "create", "--name", "b", "--webhook-url", "http://nowhere.invalid/h",
                                       "--database-url", str(db)])  # fmt: skip
    assert unresolvable.exit_code == 2 and "cannot be used" in unresolvable.output
    listed = runner.invoke(app, ["keys", "list", "--database-url", str(db), "--json"])  # the config's database
    assert [k["name"] for k in json.loads(listed.stdout)] == ["a"]
