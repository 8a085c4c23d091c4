"""What a key pays for: rate limits count accepted creates only, idempotent replays are free, a reused key with
another body is 422 and one still in flight 409, budgets are held then refunded for jobs that make no video."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from tests.gateway.helpers import bearer, wait_done, wait_for
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer
from vidgate.types import JobStatus, utcnow

CREATES = "POST /v2/videos/generations"


def _create(http: httpx.Client, key: str, idem: str | None = None, **extra: Any) -> httpx.Response:
    body = {"prompt": "a fox in the snow", "model": "sora-2", "seconds": "10", "size": "1280x720", **extra}
    headers = {**bearer(key), **({"Idempotency-Key": idem} if idem else {})}
    return http.post("/v1/videos", json=body, headers=headers)


def _key_id(token: str) -> str:
    return token.split("_")[1]


def test_the_rate_limit_counts_only_accepted_creates(
    gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer
) -> None:
    gateway.gateway.config.prices["relay/sora-2"] = 0.10
    key = gateway.create_key("limited", rate_limit_per_min=2, budget_usd=2.5)
    for _ in range(5):  # invalid requests create nothing, so they cost no slot
        assert _create(http, key, seconds="7").status_code == 400
    assert http.post("/v1/videos", content=b"{", headers={**bearer(key), "content-type": "application/json"}
                     ).status_code == 400  # fmt: skip
    first = _create(http, key, idem="order-1")
    assert first.status_code == 200
    for _ in range(3):  # replays of an accepted create get the stored answer, never a 429
        replay = _create(http, key, idem="order-1")
        assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    assert _create(http, key).status_code == 200
    limited = _create(http, key)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "refused requests and replays do not count" in limited.json()["error"]["message"]
    assert emulator.state.counts[CREATES] == 2


def test_a_create_over_budget_takes_no_rate_slot(
    gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer
) -> None:
    # relay sora-2 makes 10 s only (seed-relay-api.md: sora-2-pro "supports hd, 15s"), so the dearer request
    # is a 15 s sora-2-pro one
    gateway.gateway.config.prices["relay/sora-2"] = 0.10  # $1.00 for 10 s
    gateway.gateway.config.prices["relay/sora-2-pro"] = 0.10  # $1.50 for 15 s
    key = gateway.create_key("both", rate_limit_per_min=1, budget_usd=1.2)
    for _ in range(2):
        assert _create(http, key, model="sora-2-pro", seconds="15").status_code == 402
    assert _create(http, key).status_code == 200  # the refused ones did not use the one create a minute
    assert emulator.state.counts[CREATES] == 1


def test_a_refusal_at_create_gives_the_slot_back(
    gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer
) -> None:
    key = gateway.create_key("limited", rate_limit_per_min=1)
    emulator.set_faults({"rules": [{"endpoint": CREATES, "kind": "error", "status": 400, "count": 1}]})
    try:
        refused = _create(http, key)
    finally:
        emulator.set_faults(None)
    assert refused.status_code == 200 and refused.json()["status"] == "failed"  # recorded: the provider said no
    assert _create(http, key).status_code == 200  # the refusal did not use the key's one create a minute
    assert _create(http, key).status_code == 429


def test_the_same_idempotency_key_with_another_request_is_422(
    gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer
) -> None:
    key = gateway.create_key("app")
    first = _create(http, key, idem="order-7")
    assert first.status_code == 200
    other = _create(http, key, idem="order-7", prompt="a different video")
    assert other.status_code == 422
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused" and error["param"] == "Idempotency-Key"
    assert first.json()["id"] in error["message"]
    relay = http.post("/v2/videos/generations", headers={**bearer(key), "Idempotency-Key": "order-8"},
                      json={"prompt": "p", "model": "sora-2", "duration": "10"})  # fmt: skip
    again = http.post("/v2/videos/generations", headers={**bearer(key), "Idempotency-Key": "order-8"},
                      json={"prompt": "q", "model": "sora-2", "duration": "10"})  # fmt: skip
    assert relay.status_code == 200 and again.status_code == 422
    assert emulator.state.counts[CREATES] == 2


def test_a_duplicate_of_a_create_still_in_flight_is_409(
    gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer
) -> None:
    key = gateway.create_key("app")
    emulator.set_faults({"rules": [{"endpoint": CREATES, "kind": "delay", "delay_s": 1.5, "count": 1}]})
    answers: list[httpx.Response] = []
    try:
        slow = threading.Thread(target=lambda: answers.append(_create(http, key, idem="order-9")))
        slow.start()
        wait_for(lambda: gateway.gateway.store.list_jobs().jobs, timeout=10)  # the first create's row exists
        duplicate = _create(http, key, idem="order-9")
        slow.join(30)
    finally:
        emulator.set_faults(None)
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["error"]["code"] == "idempotency_key_in_flight" and duplicate.headers["retry-after"]
    (first,) = answers
    assert first.status_code == 200
    replay = _create(http, key, idem="order-9")  # once answered, the same key gets the stored answer
    assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    assert emulator.state.counts[CREATES] == 1


def test_budgets_are_refunded_for_jobs_that_make_no_video(
    gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer
) -> None:
    gw = gateway.gateway
    gw.config.prices["relay/sora-2"] = 0.10  # $1.00 for 10 s
    key = gateway.create_key("capped", budget_usd=3.0)

    def spent() -> float:
        record = gw.data.get_key(_key_id(key))
        assert record is not None
        return record.spent_usd

    made = _create(http, key).json()
    failing = _create(http, key, prompt="FAIL_POLICY please").json()
    assert spent() == pytest.approx(2.0)  # charged when accepted
    wait_done(http, made["id"], key)
    assert wait_done(http, failing["id"], key)["status"] == "failed"
    wait_for(lambda: spent() == pytest.approx(1.0))  # the failed one is given back; the video is kept
    charges = {j: gw.data.get_charge(j) for j in (made["id"], failing["id"])}
    assert {j: c.state for j, c in charges.items() if c} == {made["id"]: "kept", failing["id"]: "refunded"}

    gw.config.server.worker = False  # nothing moves this one on
    queued = _create(http, key).json()
    assert spent() == pytest.approx(2.0)
    assert http.post(f"/v1/videos/{queued['id']}/cancel", headers=bearer(key)).status_code == 200
    cancelled = gw.store.get(queued["id"])
    assert cancelled.status is JobStatus.cancelled and cancelled.cancel_unconfirmed
    # the relay's /v2 has no cancel: its create was accepted, so the relay may still make and bill the video —
    # the charge is kept (a cancel must not be a way to get videos made for free)
    gw.data.settle_charges(utcnow())
    charge = gw.data.get_charge(queued["id"])
    assert charge is not None and charge.state == "kept" and spent() == pytest.approx(2.0)


def test_a_job_whose_outcome_is_unknown_keeps_its_charge_held(
    gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer
) -> None:
    gw = gateway.gateway
    gw.config.prices["relay-openai/sora-2"] = 0.10
    key = gateway.create_key("capped", budget_usd=3.0)
    emulator.set_faults({"rules": [{"endpoint": "POST /v1/videos", "kind": "accept_then_drop", "count": 1}]})
    try:
        video = _create(http, key, model="relay-openai/sora-2").json()
    finally:
        emulator.set_faults(None)
    assert video["vidgate"]["status"] == "unknown"
    gw.dispatcher.run_once()
    charge = gw.data.get_charge(video["id"])
    assert charge is not None and charge.state == "held" and charge.cost_usd == pytest.approx(1.0)
    task = http.get(f"/v2/videos/generations/{video['id']}", headers=bearer(key)).json()
    assert task["status"] == "UNKNOWN" and "vidgate jobs retry" in task["fail_reason"]
