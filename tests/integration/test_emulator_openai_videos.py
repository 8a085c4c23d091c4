"""The emulated /v1/videos is as strict as the documents: schema, auth, error shapes, job clock, both flavours."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.conftest import image_bytes

from vidgate.emulator import EmulatorConfig, EmulatorServer


@pytest.fixture(scope="module")
def slow() -> Iterator[EmulatorServer]:
    """Jobs that stay queued for a minute: what may only happen to running or finished videos."""
    with EmulatorServer(EmulatorConfig(queue_seconds=60, render_seconds=60)) as server:
        yield server


def post(
    emu: EmulatorServer, path: str, key: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or emu.api_key}", **(headers or {})}
    return httpx.post(emu.url + path, headers=headers, timeout=10, **kwargs)


def get(emu: EmulatorServer, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(emu.url + path, headers={"Authorization": f"Bearer {emu.api_key}"}, timeout=10, **kwargs)


def error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    return body  # type: ignore[no-any-return]


def form(**fields: str) -> dict[str, Any]:
    return {"files": {k: (None, v) for k, v in fields.items()}}


OAI = "/openai/v1/videos"
REL = "/v1/videos"


def test_auth(slow: EmulatorServer) -> None:
    missing = httpx.post(slow.url + OAI, files={"prompt": (None, "x")})
    assert "didn't provide an API key" in error(missing, 401)["message"]
    assert error(post(slow, OAI, key="nope", **form(prompt="x")), 401)["code"] == "invalid_api_key"
    assert error(httpx.get(slow.url + REL + "/x/content"), 401)  # content needs the key too


def test_openai_schema(slow: EmulatorServer) -> None:
    assert error(post(slow, OAI, **form(prompt="x", watermark="true")))["code"] == "unknown_parameter"
    assert error(post(slow, OAI, **form(model="sora-2")))["code"] == "missing_required_parameter"
    long = error(post(slow, OAI, json={"prompt": "x" * 32001}))
    assert long["code"] == "string_above_max_length" and "32000" in long["message"]
    assert error(post(slow, OAI, json={"prompt": "x", "seconds": 8}))["code"] == "invalid_type"
    assert error(post(slow, OAI, json={"prompt": "x", "model": "sora-3"}))["param"] == "model"
    assert error(post(slow, OAI, json={"prompt": "x", "seconds": "16"}))["message"] == (
        "Invalid value: '16'. Supported values are: '4', '8', and '12'."
    )
    assert error(post(slow, OAI, content=b"prompt=x", headers={"Content-Type": "text/plain"}))["code"]
    ok = post(slow, OAI, json={"prompt": "x"})
    assert ok.status_code == 200 and (ok.json()["model"], ok.json()["seconds"], ok.json()["size"]) == (
        "sora-2", "4", "720x1280")  # fmt: skip


def test_input_reference_rules(slow: EmulatorServer) -> None:
    not_image = post(
        slow, OAI, files={"prompt": (None, "x"), "input_reference": ("a.png", b"not an image", "image/png")}
    )
    assert "Invalid file format" in error(not_image)["message"]
    mismatch = post(slow, OAI, files={"prompt": (None, "x"), "size": (None, "1280x720"),
                                    "input_reference": ("a.png", image_bytes((720, 1280)), "image/png")})  # fmt: skip
    assert error(mismatch) == {"message": "Inpaint image must match the requested width and height",
                               "type": "invalid_request_error", "param": None, "code": None}  # fmt: skip
    assert (
        "No such File"
        in error(post(slow, OAI, json={"prompt": "x", "input_reference": {"file_id": "file-1"}}))["message"]
    )
    both = post(slow, OAI, json={"prompt": "x", "input_reference": {"file_id": "f", "image_url": "https://a/b.png"}})
    assert "exactly one" in error(both)["message"]
    as_string = post(slow, OAI, json={"prompt": "x", "input_reference": "https://example.com/a.png"})
    assert error(as_string)["code"] == "invalid_type"
    remote = post(slow, OAI, json={"prompt": "x", "input_reference": {"image_url": "https://example.com/a.png"}})
    assert remote.status_code == 200  # a remote URL cannot be fetched offline: accepted unchecked


def test_relay_schema(slow: EmulatorServer) -> None:
    no_model = error(post(slow, REL, **form(prompt="x", seconds="10")))
    assert no_model["code"] == "missing_required_parameter"
    default_seconds = error(post(slow, REL, **form(model="sora-2", prompt="x")))
    assert default_seconds["message"] == "Invalid value: '4'. Supported values are: '10' and '15'."
    assert error(post(slow, REL, **form(model="sora-2", prompt="x", seconds="25")))["param"] == "seconds"
    assert (
        error(post(slow, REL, **form(model="sora-2", prompt="x", seconds="10", watermark="yes")))["param"]
        == "watermark"
    )
    span = post(slow, REL, **form(model="sora-2", prompt="x", seconds="10", character_timestamps="1,5"))
    assert "1 to 3 seconds" in error(span)["message"]
    ok = post(slow, REL, **form(model="sora-2-pro", prompt="x", seconds="25", size="1024x1792", private="true"))
    body = ok.json()
    assert ok.status_code == 200 and body["id"].startswith("sora-2-pro:task_") and body["size"] == "small"
    assert body["created_at"] > 10**12 and body["video_url"] == "" and "error" not in body


def test_what_only_finished_videos_allow(slow: EmulatorServer) -> None:
    created = post(slow, OAI, json={"prompt": "x"})
    vid = created.json()["id"]
    assert created.headers["openai-poll-after-ms"] == "10000"  # a tenth of 120 s, capped at 10 s
    retrieved = get(slow, f"{OAI}/{vid}")
    assert retrieved.json()["status"] == "queued" and "openai-poll-after-ms" in retrieved.headers
    assert error(get(slow, f"{OAI}/{vid}/content"), 404)["message"].endswith("it is queued.")
    assert error(get(slow, f"{OAI}/{vid}/content", params={"variant": "gif"}))["param"] == "variant"
    deleted = httpx.delete(slow.url + f"{OAI}/{vid}", headers={"Authorization": f"Bearer {slow.api_key}"})
    assert "only completed or failed" in error(deleted)["message"]
    assert (
        "only a completed video can be remixed"
        in error(post(slow, f"{OAI}/{vid}/remix", json={"prompt": "y"}))["message"]
    )
    private = post(slow, REL, **form(model="sora-2", prompt="x", seconds="10", private="true")).json()["id"]
    assert "private" in error(post(slow, f"{REL}/{private}/remix", json={"prompt": "y"}))["message"]
    assert error(get(slow, f"{REL}/{vid}"), 404)  # flavours do not see each other's videos


def test_list_parameters(slow: EmulatorServer) -> None:
    assert error(get(slow, OAI, params={"limit": "101"}))["param"] == "limit"
    assert error(get(slow, OAI, params={"limit": "many"}))["code"] == "invalid_type"
    assert error(get(slow, OAI, params={"order": "up"}))["param"] == "order"
    assert error(get(slow, OAI, params={"after": "video_nope"}))["param"] == "after"
    assert error(get(slow, OAI, params={"page": "2"}))["code"] == "unknown_parameter"
    page = get(slow, OAI, params={"limit": "0"}).json()
    assert page == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": True}
    assert json.loads(get(slow, REL, params={"limit": "100"}).text)["has_more"] is False
