"""Chat-compatible Sora: golden requests, model-name derivation, answer and stream parsing, the flow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.errors import AuthenticationError, ProtocolError, ProviderHTTPError
from vidgate.net.drive import BlockingDriver
from vidgate.net.steps import READ, Report, Stream
from vidgate.providers import Connection, JobUpdate, Prepared
from vidgate.providers._chat_answer import SSEDecoder, progress, read_state, task_id, video_links
from vidgate.providers.relay_chat import RelayChat, RelayChatOptions, all_wire_models, wire_model
from vidgate.types import ErrorCode, JobStatus, VideoRequest

DIALECT = RelayChat()
CATALOG = load_catalog()
CONN = Connection(provider=CATALOG.providers["relay-chat"], base_url="https://relay.example", api_key="sk-test")
SEED_ANSWER = "✅ 视频生成成功，[点击这里](https://filesystem.site/sora/e43f892b-1b2c.mp4) 查看视频~~~\n\n"
# The streamed answer as relays send it (docs.22codex.xyz 427877355e0 and public client code), with its links.
STREAMED = (
    '```json\n{\n  "prompt": "中国街头吃西瓜",\n  "orientation": "portrait",\n  "duration": 15\n}\n```\n\n'
    "> ID: `task_01k8sxz17gewz8kac074xz4crh`\n"
    "> [数据预览](https://asyncdata.net/web/task_01k8sxz17gewz8kac074xz4crh) | "
    "[原始数据](https://asyncdata.net/source/task_01k8sxz17gewz8kac074xz4crh)\n"
    "> 排队中... 生成中.\n\n> 🏃 进度 42..54..67..75..81..\n\n"
    "> 生成完成 ✅\n> sid: `s_69030aec68108191a24f05b2089bcb59`\n\n"
    "![https://filesystem.site/cdn/20251030/5aad43fd.webp](https://filesystem.site/cdn/20251030/5aad43fd.webp)\n"
    "[在线播放▶️](https://filesystem.site/cdn/20251030/181a1916dcfe.mp4)"
)


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=RelayChatOptions)
    assert report.ok, [p.explain() for p in report.problems]
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def first_request(**fields: Any) -> httpx.Request:
    step = next(DIALECT.submit(prepared(**fields), CONN))
    return step.request if isinstance(step, Stream) else step  # type: ignore[union-attr]


def test_golden_seed_example_with_an_image_url_part() -> None:
    url = "https://cdn.example.com/cat_logo03.png"
    req = first_request(prompt="竖屏 动起来", model="sora_video2", images=[url], options={"stream": False})
    assert req.method == "POST" and str(req.url) == "https://relay.example/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test" and req.headers["content-type"] == "application/json"
    assert json.loads(req.content) == {
        "model": "sora_video2",
        "stream": False,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "竖屏 动起来"}, {"type": "image_url", "image_url": {"url": url}}],
            }
        ],
    }
    assert req.extensions["timeout"]["read"] == CATALOG.resolve("sora_video2").deadline_s


def test_text_only_streams_by_default_with_plain_content() -> None:
    step = next(DIALECT.submit(prepared(prompt="a cat", model="sora_video2", aspect_ratio="16:9"), CONN))
    assert isinstance(step, Stream)
    # The seed marks Accept: application/json as required on /v1/chat/completions (issue 12, item 10c): the
    # body's "stream" field, not the Accept header, asks for SSE.
    assert step.request.headers["accept"] == "application/json"
    assert json.loads(step.request.content) == {
        "model": "sora_video2-landscape",
        "stream": True,
        "messages": [{"role": "user", "content": "a cat"}],
    }


def test_local_images_become_data_uris(tmp_path: Any) -> None:
    from tests.conftest import make_image

    path = make_image(tmp_path / "a.png")
    req = first_request(prompt="x", model="sora_video2", images=[path, "https://cdn.example/b.webp"])
    parts = json.loads(req.content)["messages"][0]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://cdn.example/b.webp"}}


@pytest.mark.parametrize(
    ("aspect", "hd", "duration", "name"),
    [
        (None, None, None, "sora_video2"),
        (None, False, 10, "sora_video2"),
        ("9:16", None, None, "sora_video2-portrait"),
        ("16:9", None, 10, "sora_video2-landscape"),
        ("9:16", True, None, "sora_video2-portrait-hd"),
        ("9:16", None, 15, "sora_video2-portrait-15s"),
        ("9:16", True, 15, "sora_video2-portrait-hd-15s"),
        ("16:9", True, None, "sora_video2-landscape-hd"),
        ("16:9", None, 15, "sora_video2-landscape-15s"),
        ("16:9", True, 15, "sora_video2-landscape-hd-15s"),
        (None, True, None, "sora_video2-portrait-hd"),  # hd/15 s name the documented default orientation
        (None, None, 15, "sora_video2-portrait-15s"),
    ],
)
def test_model_name_from_orientation_hd_and_length(
    aspect: str | None, hd: bool | None, duration: float | None, name: str
) -> None:
    assert wire_model("sora_video2", aspect, hd, duration) == name
    fields: dict[str, Any] = {"aspect_ratio": aspect, "hd": hd, "duration": duration}
    req = first_request(prompt="x", model="sora_video2", **{k: v for k, v in fields.items() if v is not None})
    assert json.loads(req.content)["model"] == name
    assert name in all_wire_models("sora_video2")


def test_every_seed_documented_name_is_derivable() -> None:
    seed = {"sora_video2", "sora_video2-portrait", "sora_video2-landscape", "sora_video2-portrait-hd",
            "sora_video2-portrait-15s", "sora_video2-portrait-hd-15s"}  # fmt: skip
    assert seed <= set(all_wire_models("sora_video2"))
    assert DIALECT.wire_models(CATALOG.resolve("sora_video2")) == all_wire_models("sora_video2")


@pytest.mark.parametrize(
    ("text", "links"),
    [
        (SEED_ANSWER, ["https://filesystem.site/sora/e43f892b-1b2c.mp4"]),
        (STREAMED, ["https://filesystem.site/cdn/20251030/181a1916dcfe.mp4"]),  # not the preview/raw links
        ("[在线播放▶️](https://videos.example/a/b/x.MP4?st=2025&sig=a%2Bb)", ["https://videos.example/a/b/x.MP4?st=2025&sig=a%2Bb"]),
        ("[点击这里](https://relay.example/v/12345)", ["https://relay.example/v/12345"]),  # no extension, labelled
        ("[video](<https://x.example/a.mp4> \"title\")", ["https://x.example/a.mp4"]),
        ("done: https://x.example/a.webm.", ["https://x.example/a.webm"]),  # a bare URL as the last resort
        ("![cover](https://x.example/c.mp4)", []),  # an image is never the video
        ("[数据预览](https://asyncdata.net/web/task_1) | [原始数据](https://asyncdata.net/source/task_1)", []),
        ("[docs](https://x.example/guide.html) ❌ 生成失败", []),
        ("[a](https://x.example/1.mp4) [b](https://x.example/1.mp4) [c](https://x.example/2.mov)",
         ["https://x.example/1.mp4", "https://x.example/2.mov"]),
    ],
)  # fmt: skip
def test_video_link_variants(text: str, links: list[str]) -> None:
    assert video_links(text) == links


@pytest.mark.parametrize(
    ("text", "status", "raw", "pct"),
    [
        ("", None, None, None),
        ("> ID: `task_1`\n> 排队中...", JobStatus.queued, "排队中", None),
        ("⌛️ 任务正在队列中，请耐心等待...", JobStatus.queued, "⌛️ 任务正在队列中，请耐心等待", None),
        ("> 排队中...\n> 生成中.", JobStatus.running, "生成中", None),
        ("> 排队中... 生成中.\n\n> 🏃 进度 42..54..67..75..81..", JobStatus.running, "进度 81", 81),
        ("🏃 进度:36.0%", JobStatus.running, "进度 36", 36),
        ("> 🏃 进度 76..\n\n> 生成完成 ✅\n> sid: s_1", JobStatus.running, "生成完成 ✅", 76),
    ],
)
def test_progress_lines(text: str, status: JobStatus | None, raw: str | None, pct: int | None) -> None:
    state = read_state(text)
    assert (state.status, state.raw_status, state.progress) == (status, raw, pct)


def test_task_id_and_progress_helpers() -> None:
    assert task_id(STREAMED) == "task_01k8sxz17gewz8kac074xz4crh"
    assert task_id("> ID: task_01k7dzptgwf2z87wj2c3t36qk0\n") == "task_01k7dzptgwf2z87wj2c3t36qk0"
    assert progress(STREAMED) == 81 and progress("no progress") is None


def test_sse_decoder_handles_split_lines_crlf_comments_and_multi_line_data() -> None:
    d = SSEDecoder()
    assert d.feed(b'data: {"a"') == []
    assert d.feed(b": 1}\r\n\r\n: keep-alive\n\nevent: x\ndata: line1\ndata: line2\n\ndata: [DONE]") == [
        '{"a": 1}',
        "line1\nline2",
    ]
    assert d.close() == ["[DONE]"]


# ---------------------------------------------------------------- the flow, driven by hand


def completion(content: str, **extra: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "sora_video2",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}], **extra}  # fmt: skip


def run_plain(body: Any, status: int = 200) -> JobUpdate:
    flow = DIALECT.submit(prepared(prompt="x", model="sora_video2", options={"stream": False}), CONN)
    req = next(flow)
    assert isinstance(req, httpx.Request)
    try:
        flow.send(httpx.Response(status, json=body, request=req))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    raise AssertionError("the flow did not finish")


def test_non_stream_answer_with_a_link_succeeds() -> None:
    update = run_plain(completion(SEED_ANSWER))
    assert update.status is JobStatus.succeeded and update.progress == 100
    assert [a.url for a in update.assets] == ["https://filesystem.site/sora/e43f892b-1b2c.mp4"]
    assert update.provider_task_id == "chatcmpl-1" and update.raw["choices"][0]["message"]["content"] == SEED_ANSWER


def test_an_answer_without_a_link_is_a_failed_job_carrying_the_text() -> None:
    refusal = "❌ 视频生成失败：输入的提示词或视频的输出内容违反了OpenAI的相关服务政策，请调整提示词后进行重试"
    update = run_plain(completion(refusal))
    assert update.status is JobStatus.failed and update.assets == []
    assert update.error is not None and refusal in update.error.message
    assert update.error.code is ErrorCode.content_policy_output
    chatty = run_plain(completion("I can only make videos of animals."))
    assert chatty.error is not None and chatty.error.code is ErrorCode.provider_error
    assert "I can only make videos of animals." in chatty.error.message
    empty = run_plain(completion(""))
    assert empty.error is not None and "empty" in empty.error.message


def test_http_and_body_errors_are_typed() -> None:
    with pytest.raises(AuthenticationError):
        run_plain({"error": {"message": "无效的令牌", "type": "new_api_error", "code": "invalid_api_key"}}, 401)
    with pytest.raises(ProviderHTTPError, match="no channel"):
        run_plain({"error": {"message": "no channel", "code": "model_not_found"}})
    with pytest.raises(ProtocolError):
        run_plain({"object": "chat.completion", "choices": []})


def sse(*texts: str, done: bool = True, error: Any = None) -> bytes:
    out = b""
    for t in texts:
        chunk = {"id": "chatcmpl-9", "object": "chat.completion.chunk",
                 "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]}  # fmt: skip
        out += f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
    if error is not None:
        out += f"data: {json.dumps({'error': error})}\n\n".encode()
    return out + (b"data: [DONE]\n\n" if done else b"")


def drive_stream(
    body: bytes, chunk_size: int, headers: dict[str, str] | None = None, status: int = 200
) -> tuple[list[JobUpdate], JobUpdate]:
    """Feed the streaming flow ``body`` in pieces of ``chunk_size`` bytes, collecting reported updates."""
    flow = DIALECT.submit(prepared(prompt="x", model="sora_video2"), CONN)
    step = next(flow)
    assert isinstance(step, Stream)
    hdrs = headers or {"content-type": "text/event-stream"}
    pieces: Iterator[bytes] = iter([body[i : i + chunk_size] for i in range(0, len(body), chunk_size)])
    reported: list[JobUpdate] = []
    reply: Any = httpx.Response(status, headers=hdrs, request=step.request)
    try:
        while True:
            step = flow.send(reply)
            if step is READ:
                reply = next(pieces, b"")
            elif isinstance(step, Report):
                reported.append(step.value)
                reply = None
            else:
                raise AssertionError(f"unexpected step {step!r}")
    except StopIteration as stop:
        return reported, stop.value


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 100_000])
def test_stream_progress_becomes_intermediate_updates_then_the_video(chunk_size: int) -> None:
    words = ["```json\n{}\n```\n\n", "> ID: `task_01k7`\n", "> 排队中", ".", ".", "\n> 生成中", ".",
             "\n> 🏃 进度 ", "17..", "44..", "76..", "\n\n> 生成完成 ✅\n",
             "[在线播放▶️](https://cdn.example/v.mp4)"]  # fmt: skip
    reported, final = drive_stream(sse(*words), chunk_size)
    seen = [(u.status, u.raw_status, u.progress) for u in reported]
    assert seen == [
        (JobStatus.queued, "排队中", None),
        (JobStatus.running, "生成中", None),
        (JobStatus.running, "进度", None),
        (JobStatus.running, "进度 17", 17),
        (JobStatus.running, "进度 44", 44),
        (JobStatus.running, "进度 76", 76),
        (JobStatus.running, "生成完成 ✅", 76),
    ]
    assert all(u.provider_task_id == "task_01k7" for u in reported)
    assert final.status is JobStatus.succeeded and final.assets[0].url == "https://cdn.example/v.mp4"
    assert final.provider_task_id == "task_01k7" and final.raw["done"] is True and "生成完成" in final.raw["content"]


def test_a_stream_without_a_link_or_with_an_error_event_fails() -> None:
    _, final = drive_stream(sse("> 排队中", "\n> 生成中", "\n> 生成失败 ❌ 内容违规"), 50)
    assert final.status is JobStatus.failed and final.error is not None
    assert final.error.code is ErrorCode.content_policy_input or final.error.code is ErrorCode.content_policy_output
    assert "生成失败" in final.error.message
    _, final = drive_stream(sse("> 排队中", error={"message": "upstream timeout", "code": "timeout"}), 50)
    assert final.status is JobStatus.failed and final.error is not None and final.error.code is ErrorCode.timeout
    _, cut = drive_stream(sse("> 排队中", "\n> 生成中", done=False), 50)  # connection closed mid-way
    assert cut.status is JobStatus.failed and cut.raw["done"] is False


def test_a_relay_that_ignores_stream_true_answers_json() -> None:
    body = json.dumps(completion(SEED_ANSWER)).encode()
    reported, final = drive_stream(body, 10, headers={"content-type": "application/json"})
    assert reported == [] and final.status is JobStatus.succeeded


def test_a_streamed_http_error_is_read_and_typed() -> None:
    body = json.dumps({"error": {"message": "quota exhausted", "code": "insufficient_quota"}}).encode()
    with pytest.raises(ProviderHTTPError) as info:
        drive_stream(body, 5, headers={"content-type": "application/json"}, status=403)
    assert info.value.status_code == 403 and info.value.message == "quota exhausted"


def test_the_chat_format_has_no_status_endpoint() -> None:
    with pytest.raises(ProtocolError, match="no status endpoint"):
        DIALECT.status("task_1", CATALOG.resolve("sora_video2"), CONN)


def test_the_blocking_driver_drives_a_streaming_flow_over_a_mock_transport() -> None:
    payload = sse("> 排队中", "\n> 🏃 进度 50..", "\n> 生成完成 ✅\n[在线播放▶️](https://cdn.example/v.mp4)")

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=payload)

    updates: list[JobUpdate] = []
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        flow = DIALECT.submit(prepared(prompt="x", model="sora_video2"), CONN)
        final = BlockingDriver(http).run(flow, updates.append)
    assert [u.raw_status for u in updates] == ["排队中", "进度 50", "生成完成 ✅"]
    assert final.status is JobStatus.succeeded


def test_a_stream_cut_mid_way_leaves_an_unknown_job_that_says_it_cannot_be_polled() -> None:
    from vidgate.client import Client
    from vidgate.errors import TransportError

    class Cut(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield sse("> ID: `task_cut`\n> 排队中", "\n> 🏃 进度 30..", done=False)
            raise httpx.RemoteProtocolError("peer closed connection")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Cut())

    seen: list[Any] = []
    with Client(base_url="https://relay.example", api_key="sk", env={}, transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(TransportError):
            c.submit("a fox", model="sora_video2", on_progress=seen.append)
        assert [j.progress for j in seen] == [0, 30]
        (job,) = c.store.list_jobs().jobs
        assert job.status is JobStatus.unknown and job.provider_task_id == "task_cut" and job.progress == 30
        with pytest.raises(ProtocolError, match="cannot be queried"):
            c.get(job)
