"""The assists' sans-IO parts: plan repair and refusal, answers, frame fitting, wire bodies, chat catalog."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image

from tests.conftest import image_bytes
from vidgate.assists import gemini_native, openai_chat
from vidgate.assists.answers import AnswerError, find_image, json_object
from vidgate.assists.ask import ChatAsk, VideoPart
from vidgate.assists.frame import fit
from vidgate.assists.plan import Plan, PlanRefusedError, answer_schema, settle, storyboard_chars, target_duration
from vidgate.assists.review import route_video, verdict_of
from vidgate.catalog import load_catalog
from vidgate.catalog.chat_models import load_chat_catalog
from vidgate.emulator.dialects import chat_assist
from vidgate.errors import ProtocolError, ValidationError
from vidgate.types import ImageRole

CATALOG = load_catalog()
SORA = CATALOG.resolve("relay/sora-2")
PRO = CATALOG.resolve("relay/sora-2-pro")
VEO = CATALOG.resolve("veo3-fast")
CHAT = load_chat_catalog()


def test_settle_rescales_to_the_total_in_half_seconds_keeping_proportions() -> None:
    answer = {
        "shots": [{"seconds": 6, "scene": "take off"}, {"seconds": 6, "scene": "fly"}, {"seconds": 8, "scene": "land"}]
    }
    plan = settle(answer, SORA, idea="a plane", duration=10)
    assert [s.seconds for s in plan.shots] == [3, 3, 4] and plan.repairs and "became" in plan.repairs[0]
    request = plan.request()
    assert request.prompt == "" and [s.duration for s in request.shots] == [3, 3, 4] and request.duration == 10


def test_settle_keeps_a_plan_that_already_fits_unchanged() -> None:
    plan = settle(
        {"shots": [{"seconds": 7.5, "scene": "a"}, {"seconds": 2.5, "scene": "b"}]}, SORA, idea="x", duration=10
    )
    assert plan.repairs == [] and [s.seconds for s in plan.shots] == [7.5, 2.5]


def test_settle_drops_empty_scenes_fills_missing_lengths_and_puts_mentions_back() -> None:
    answer = {
        "shots": [
            {"seconds": "long", "scene": "the cat jumps"},
            {"seconds": 4, "scene": " "},
            {"seconds": 5, "scene": "the cat lands"},
        ]
    }
    plan = settle(answer, PRO, idea="@cat.one jumps onto the roof", duration=15)
    assert len(plan.shots) == 2 and sum(s.seconds for s in plan.shots) == 15
    assert "@cat.one" in plan.shots[0].scene and plan.characters == ["cat.one"]
    assert any("dropped" in r for r in plan.repairs) and any("no usable length" in r for r in plan.repairs)
    assert any("@cat.one" in r for r in plan.repairs)


def test_a_model_without_storyboard_gets_one_prompt() -> None:
    answer = {"shots": [{"seconds": 4, "scene": "a fox runs"}, {"seconds": 4, "scene": "it jumps"}]}
    duration = target_duration(VEO, None)
    plan = settle(answer, VEO, idea="a fox", duration=duration)
    assert not plan.storyboard and len(plan.shots) == 1 and "Then" in plan.shots[0].scene
    assert plan.request().prompt.startswith("a fox runs.") and plan.request().shots == []
    assert answer_schema(VEO, duration)["properties"]["shots"]["maxItems"] == 1


def test_plans_that_cannot_fit_are_refused_with_the_catalogs_reasons() -> None:
    with pytest.raises(PlanRefusedError, match="no plan can fit") as exc:
        target_duration(SORA, 25)
    assert exc.value.problems[0].allowed == "10 s"
    with pytest.raises(PlanRefusedError, match="has no shots"):
        settle({"scenes": []}, SORA, idea="x", duration=10)
    with pytest.raises(PlanRefusedError, match="empty"):
        settle({"shots": [{"seconds": 5, "scene": ""}]}, SORA, idea="x", duration=10)
    huge = {"shots": [{"seconds": 5, "scene": "x" * 20000}, {"seconds": 5, "scene": "y" * 20000}]}
    with pytest.raises(PlanRefusedError) as long:
        settle(huge, SORA, idea="x", duration=10)
    assert any("character" in p.message for p in long.value.problems)
    with pytest.raises(PlanRefusedError, match="control character"):
        settle({"shots": [{"seconds": 10, "scene": "bad \x07 bell"}]}, SORA, idea="x", duration=10)


def test_storyboard_length_counts_the_grammar() -> None:
    plan = settle(
        {"shots": [{"seconds": 7.5, "scene": "飞机起飞"}, {"seconds": 2.5, "scene": "飞机降落"}]},
        SORA,
        idea="x",
        duration=10,
    )
    assert storyboard_chars(plan.shots) == len(
        "Shot 1:\nduration: 7.5sec\nScene: 飞机起飞\n\nShot 2:\nduration: 2.5sec\nScene: 飞机降落"
    )


def test_a_plan_file_round_trips_and_a_bad_one_is_named(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    plan = settle({"shots": [{"seconds": 10, "scene": "a"}]}, SORA, idea="x", duration=10)
    assert Plan.load(plan.save(folder / "p.json")) == plan
    (folder / "bad.json").write_text("{}")
    with pytest.raises(ValidationError, match="not a vidgate plan"):
        Plan.load(folder / "bad.json")


def test_json_object_reads_fenced_and_embedded_answers() -> None:
    assert json_object('{"a": 1}') == {"a": 1}
    assert json_object('Sure:\n```json\n{"a": 2}\n```\n') == {"a": 2}
    assert json_object('Here it is: {"a": 3} hope it helps') == {"a": 3}
    with pytest.raises(AnswerError, match="no JSON object"):
        json_object("I cannot help with that")


def test_find_image_reads_each_shape_relays_answer_with() -> None:
    png = image_bytes()
    b64 = base64.b64encode(png).decode()
    assert find_image("![image](https://cdn.x/a.png)").url == "https://cdn.x/a.png"
    assert find_image(f"![image](data:image/png;base64,{b64})").data == png
    assert find_image(f"done: data:image/png;base64,{b64}").data == png
    assert find_image("[下载图片](https://cdn.x/b.webp?sig=1)").url == "https://cdn.x/b.webp?sig=1"
    noisy = io.BytesIO()
    Image.effect_noise((64, 64), 60).save(noisy, format="PNG")  # a base64 run longer than any word
    assert find_image("Here: " + base64.b64encode(noisy.getvalue()).decode()).data == noisy.getvalue()
    with pytest.raises(AnswerError, match="no image"):
        find_image("the content policy does not allow this")


def test_fit_crops_to_the_aspect_ratio_and_meets_the_byte_limit() -> None:
    noisy = Image.effect_noise((1024, 1024), 80).convert("RGB")
    buf = io.BytesIO()
    noisy.save(buf, format="PNG")
    data, fmt, w, h, changes = fit(buf.getvalue(), SORA, role=ImageRole.first_frame, aspect_ratio="9:16")
    assert (w, h) == (576, 1024) and fmt in SORA.images.formats
    limit = SORA.images.max_bytes
    if limit is not None:
        assert len(data) <= limit
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (w, h)
    assert changes[0].startswith("1024x1024 cropped")
    small = SORA.model_copy(
        update={"images": SORA.images.model_copy(update={"max_bytes": 30_000, "formats": ["jpeg"]})}
    )
    data, fmt, _, _, changes = fit(buf.getvalue(), small, role=ImageRole.first_frame, aspect_ratio="16:9")
    assert fmt == "jpeg" and len(data) <= 30_000 and any("byte limit" in c for c in changes)
    with pytest.raises(ValidationError, match="not an image"):
        fit(b"<html>", SORA, role=ImageRole.first_frame)


def test_openai_body_carries_schema_images_and_the_video_url() -> None:
    spec = CHAT.resolve("relay/gemini-2.5-pro-preview-05-06")
    ask = ChatAsk(
        text="check",
        system="be strict",
        images=("https://x/a.png",),
        video=VideoPart(url="https://x/v.mp4"),
        schema={"type": "object"},
        schema_name="verdict",
    )
    body = openai_chat.body(ask, spec)
    assert body["model"] == "gemini-2.5-pro-preview-05-06" and body["messages"][0] == {
        "role": "system",
        "content": "be strict",
    }
    parts = body["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url"] and parts[2]["image_url"]["url"].endswith(
        ".mp4"
    )
    assert (
        body["response_format"]["type"] == "json_schema" and body["response_format"]["json_schema"]["name"] == "verdict"
    )


def test_gemini_body_sends_bytes_inline_and_google_schema() -> None:
    spec = CHAT.resolve("relay/gemini-2.5-pro-preview-05-06:generateContent")
    ask = ChatAsk(
        text="check",
        system="be strict",
        video=VideoPart(data=b"\x00\x00\x00\x18ftypmp42"),
        schema={"type": "object", "properties": {"ok": {"type": "boolean"}}, "additionalProperties": False},
    )
    body = gemini_native.body(ask, spec)
    video = body["contents"][0]["parts"][1]["inlineData"]
    assert video["mimeType"] == "video/mp4" and base64.b64decode(video["data"])[4:8] == b"ftyp"
    config = body["generationConfig"]
    assert config["responseSchema"] == {"type": "OBJECT", "properties": {"ok": {"type": "BOOLEAN"}}}
    assert config["thinkingConfig"] == {"thinkingBudget": 1024, "includeThoughts": False}
    assert gemini_native.path(spec) == "/v1beta/models/gemini-2.5-pro-preview-05-06:generateContent"


def test_gemini_answer_leaves_thoughts_out_and_reads_usage() -> None:
    spec = CHAT.resolve("relay/gemini-2.5-pro-preview-05-06:generateContent")
    body = {
        "candidates": [{"content": {"parts": [{"text": "hmm", "thought": True}, {"text": '{"ok": true}'}]}}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 3, "thoughtsTokenCount": 4},
    }
    reply = gemini_native.parse(spec, httpx.Response(200, json=body))
    assert reply.text == '{"ok": true}' and (reply.prompt_tokens, reply.completion_tokens) == (10, 7)
    with pytest.raises(ProtocolError, match="blocked"):
        gemini_native.parse(spec, httpx.Response(200, json={"promptFeedback": {"blockReason": "SAFETY"}}))


def test_chat_answer_that_is_not_a_completion_is_a_protocol_error() -> None:
    spec = CHAT.resolve("relay/gpt-4o-image")
    with pytest.raises(ProtocolError, match=r"not a chat\.completion"):
        openai_chat.parse(spec, httpx.Response(200, text="<html>busy</html>"))
    reply = openai_chat.parse(
        spec, httpx.Response(200, json={"choices": [{"message": {"content": [{"type": "text", "text": "hi"}]}}]})
    )
    assert reply.text == "hi"


def test_video_routing_never_sends_a_path() -> None:
    chat = CHAT.resolve("relay/gemini-2.5-pro-preview-05-06")
    native = CHAT.resolve("relay/gemini-2.5-pro-preview-05-06:generateContent")
    assert route_video(chat, url="https://x/v.mp4", data=b"123", where="v").url == "https://x/v.mp4"
    assert route_video(native, url="https://x/v.mp4", data=b"123", where="v").data == b"123"
    with pytest.raises(ValidationError, match="never sends a local path"):
        route_video(chat, url=None, data=b"123", where="v.mp4")
    big = b"0" * ((native.max_video_bytes or 0) + 1)
    assert route_video(native, url="https://x/v.mp4", data=big, where="v").url == "https://x/v.mp4"
    with pytest.raises(ValidationError, match="inline limit"):
        route_video(native, url=None, data=big, where="v")


def test_verdicts_follow_the_schema_or_are_refused() -> None:
    verdict = verdict_of(
        {"matches": False, "summary": "no fox", "issues": [{"what": "no fox", "start_s": 1, "end_s": 2}]},
        prompt="a fox",
        chat_model="m",
    )
    assert verdict.issues[0].start_s == 1 and not verdict.matches
    backwards = verdict_of(
        {"matches": False, "issues": [{"what": "x", "start_s": 4, "end_s": 2}]}, prompt="p", chat_model="m"
    )
    assert (backwards.issues[0].start_s, backwards.issues[0].end_s) == (2, 4)
    with pytest.raises(AnswerError):
        verdict_of({"summary": "?"}, prompt="a fox", chat_model="m")


def test_chat_catalog_has_sources_and_refuses_missing_capabilities() -> None:
    for spec in CHAT.models.values():
        assert spec.sources and spec.provider in CATALOG.providers
    with pytest.raises(ValidationError, match="no video input") as exc:
        CHAT.require("gpt-4o-image", "video_input")
    assert "seed-relay-api.md" in str(exc.value)
    with pytest.raises(ValidationError, match="not a chat model"):
        CHAT.require("gpt-9", "vision")
    assert CHAT.require(None, "image_output").key == "relay/gpt-4o-image"


def test_emulator_facts_agree_with_the_chat_catalog() -> None:
    """Two independent readings of the seed: the catalog's capabilities and the emulator's model table."""
    for spec in CHAT.models.values():
        assert spec.model in chat_assist.MODELS
        assert (spec.model in chat_assist.GEMINI) == spec.video_input
        assert (spec.model in chat_assist.IMAGE_MODELS) == spec.image_output


def test_emulator_schema_filler_follows_the_schema() -> None:
    import random

    schema = answer_schema(SORA, 10)
    for seed in range(20):
        value = chat_assist.fill(schema, random.Random(seed), ["a", "b", "c"], negative=False)
        shots = value["shots"]
        assert 1 <= len(shots) <= 6 and all(1 <= s["seconds"] <= 10 and s["scene"] for s in shots)
    assert json.dumps(chat_assist.fill({"type": "boolean"}, random.Random(1), [], negative=True)) == "false"
