"""The emulated relay's chat, character, model-list and account-webhook doors over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from vidgate.emulator import EmulatorServer
from vidgate.net.loopback import LoopbackServer
from vidgate.webhooks.relay_account import QuotaLowEvent, account_webhook_app


def call(emulator: EmulatorServer, method: str, path: str, body: Any = None, key: str | None = "") -> httpx.Response:
    headers = {} if key is None else {"Authorization": f"Bearer {key or emulator.api_key}"}
    return httpx.request(method, emulator.url + path, json=body, headers=headers, timeout=30)


# ---------------------------------------------------------------- POST /v1/chat/completions


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "sora_video2", "messages": [{"role": "user", "content": "x"}], "size": "1"}, 400, "invalid_param"),
        ({"model": "sora-2", "messages": [{"role": "user", "content": "x"}]}, 400, "model_not_found"),
        ({"model": "sora_video2-hd-25s", "messages": [{"role": "user", "content": "x"}]}, 400, "model_not_found"),
        ({"model": "sora_video2", "messages": []}, 400, "invalid_param"),
        ({"model": "sora_video2", "messages": [{"role": "assistant", "content": "x"}]}, 400, "invalid_param"),
        ({"model": "sora_video2", "messages": [{"role": "user", "content": " "}]}, 400, "invalid_param"),
        ({"model": "sora_video2", "stream": 1, "messages": [{"role": "user", "content": "x"}]}, 400, "invalid_param"),
        ({"model": "sora_video2", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "not an image"}}]}]}, 400,
         "invalid_param"),
    ],
)  # fmt: skip
def test_chat_schema_is_enforced(emulator: EmulatorServer, body: dict[str, Any], status: int, code: str) -> None:
    answer = call(emulator, "POST", "/v1/chat/completions", body)
    assert answer.status_code == status and answer.json()["error"]["code"] == code
    assert emulator.state.jobs == {}


def test_chat_needs_the_bearer_key(emulator: EmulatorServer) -> None:
    body = {"model": "sora_video2", "messages": [{"role": "user", "content": "x"}]}
    assert call(emulator, "POST", "/v1/chat/completions", body, key=None).status_code == 401
    assert call(emulator, "POST", "/v1/chat/completions", body, key="wrong").status_code == 401


def test_chat_non_stream_answer_links_a_real_video(emulator: EmulatorServer) -> None:
    body = {"model": "sora_video2-landscape", "stream": False, "messages": [{"role": "user", "content": "a fox"}]}
    answer = call(emulator, "POST", "/v1/chat/completions", body).json()
    assert answer["object"] == "chat.completion" and answer["model"] == "sora_video2-landscape"
    content = answer["choices"][0]["message"]["content"]
    assert content.startswith("✅ 视频生成成功，[点击这里](") and content.endswith(") 查看视频~~~\n\n")
    url = content.split("](", 1)[1].split(")", 1)[0]
    video = httpx.get(url, timeout=30)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"


# ---------------------------------------------------------------- POST /sora/v1/characters


def finished_task(emulator: EmulatorServer) -> str:
    body = {"model": "sora_video2", "messages": [{"role": "user", "content": "a cat"}]}
    call(emulator, "POST", "/v1/chat/completions", body)
    (task_id,) = emulator.state.jobs
    return task_id


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "sora-2", "url": "https://x.example/v.mp4", "timestamps": "1,3"}, 404, "channel_not_found"),
        ({"url": "https://x.example/v.mp4", "timestamps": "1,3", "name": "cat"}, 400, "invalid_param"),
        ({"url": "https://x.example/v.mp4"}, 400, "invalid_param"),
        ({"url": "https://x.example/v.mp4", "timestamps": "1,1.5"}, 400, "invalid_param"),
        ({"url": "https://x.example/v.mp4", "timestamps": "1,5"}, 400, "invalid_param"),
        ({"url": "https://x.example/v.mp4", "timestamps": "a,b"}, 400, "invalid_param"),
        ({"url": "https://x.example/v.mp4", "from_task": "task_1", "timestamps": "1,3"}, 400, "invalid_param"),
        ({"timestamps": "1,3"}, 400, "invalid_param"),
        ({"url": "file:///etc/passwd", "timestamps": "1,3"}, 400, "invalid_param"),
        ({"from_task": "task_nope", "timestamps": "1,3"}, 404, "task_not_found"),
    ],
)
def test_character_schema_is_enforced(emulator: EmulatorServer, body: dict[str, Any], status: int, code: str) -> None:
    answer = call(emulator, "POST", "/sora/v1/characters", body)
    assert answer.status_code == status and answer.json()["error"]["code"] == code, answer.text


def test_characters_from_a_url_or_a_finished_task(emulator: EmulatorServer) -> None:
    made = call(emulator, "POST", "/sora/v1/characters", {"url": "https://x.example/v.mp4", "timestamps": "0,3"})
    assert made.status_code == 200
    character = made.json()
    assert set(character) == {"id", "username", "permalink", "profile_picture_url"}
    assert character["id"].startswith("ch_")
    assert character["permalink"] == f"https://sora.chatgpt.com/profile/{character['username']}"
    task = finished_task(emulator)
    assert call(emulator, "POST", "/sora/v1/characters", {"from_task": task, "timestamps": "1,2"}).status_code == 200
    assert (
        call(emulator, "POST", "/sora/v1/characters", {"url": "https://x", "timestamps": "1,2"}, key="x").status_code
        == 401
    )


def test_a_task_that_has_not_finished_cannot_give_a_character(emulator: EmulatorServer) -> None:
    from vidgate.emulator.state import EmuJob

    emulator.state.add(EmuJob("task_slow", "relay-chat", "sora_video2", {}, emulator.state.config.clock(), 10, None,
                              queue_s=60, render_s=60))  # fmt: skip
    answer = call(emulator, "POST", "/sora/v1/characters", {"from_task": "task_slow", "timestamps": "1,2"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "task_not_finished"


# ---------------------------------------------------------------- GET /v1/models


@pytest.fixture
def models_config(emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    yield emulator
    emulator.config.models_hidden, emulator.config.models_extra = set(), []


def test_model_list_is_authenticated_and_configurable(models_config: EmulatorServer) -> None:
    emulator = models_config
    assert call(emulator, "GET", "/v1/models", key="wrong").status_code == 401
    listed = call(emulator, "GET", "/v1/models").json()
    assert listed["object"] == "list"
    ids = {m["id"] for m in listed["data"]}
    assert {"sora-2", "sora-2-pro", "veo3", "sora_video2", "sora_video2-portrait-hd-15s", "gpt-4o-mini"} <= ids
    # the seed relay documents no landscape hd / 15 s chat names (seed-relay-api.md "Chat-compatible video")
    assert "sora_video2-landscape-hd-15s" not in ids
    assert all(m["object"] == "model" and m["supported_endpoint_types"] for m in listed["data"])
    set_up = httpx.post(emulator.url + "/_emulator/models", json={"hidden": ["sora-2-pro"], "extra": ["kling-v3"]})
    assert set_up.json() == {"hidden": ["sora-2-pro"], "extra": ["kling-v3"]}
    ids = {m["id"] for m in call(emulator, "GET", "/v1/models").json()["data"]}
    assert "sora-2-pro" not in ids and "kling-v3" in ids


# ---------------------------------------------------------------- the account webhook, emulator -> receiver


class Receiver(LoopbackServer):
    """``account_webhook_app`` served by uvicorn on 127.0.0.1 (port 0) in a thread."""

    def __init__(self, key: str) -> None:
        self.events: list[QuotaLowEvent] = []
        super().__init__(account_webhook_app(key, self.events.append), name="the receiver")
        self.hook_url = f"{self.url}/hooks/relay/account"


def test_the_emulator_sends_the_documented_webhook_to_a_receiver(emulator: EmulatorServer) -> None:
    with Receiver(emulator.api_key) as receiver:
        sent = httpx.post(emulator.url + "/_emulator/quota-webhook", json={"url": receiver.hook_url, "quota": 0.5})
        assert sent.status_code == 200
        assert sent.json()["status"] == 200
        assert sent.json()["sent"] == {"topic": "user_quota_too_low", "data": {"quota": 0.5}}
        assert [(e.topic, e.quota) for e in receiver.events] == [("user_quota_too_low", 0.5)]
        wrong = httpx.post(emulator.url + "/_emulator/quota-webhook",
                           json={"url": receiver.hook_url, "quota": 0.1, "api_key": "sk-someone-else"})  # fmt: skip
        assert wrong.json()["status"] == 401 and "bad_bearer" in wrong.json()["body"]
        other = httpx.post(emulator.url + "/_emulator/quota-webhook", json={"url": receiver.hook_url, "topic": "x"})
        assert other.json()["status"] == 422
        assert len(receiver.events) == 1  # the refused deliveries changed nothing
