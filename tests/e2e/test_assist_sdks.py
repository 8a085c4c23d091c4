"""The official SDKs against the emulator's chat routes: ``openai`` ``chat.completions.create`` and
``google-genai`` ``models.generate_content`` (JSON-schema answers, an image answer, thinkingConfig)."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from openai.types.chat import ChatCompletionContentPartParam, ChatCompletionUserMessageParam

from vidgate.emulator import EmulatorServer

SCHEMA = {
    "type": "object",
    "properties": {
        "shots": {
            "type": "array",
            "minItems": 2,
            "maxItems": 4,
            "items": {
                "type": "object",
                "properties": {"seconds": {"type": "number", "minimum": 1, "maximum": 5}, "scene": {"type": "string"}},
                "required": ["seconds", "scene"],
                "additionalProperties": False,
            },
        },
        "mood": {"type": "string", "enum": ["calm", "tense"]},
    },
    "required": ["shots", "mood"],
    "additionalProperties": False,
}


def user(content: list[ChatCompletionContentPartParam]) -> ChatCompletionUserMessageParam:
    return {"role": "user", "content": content}


def chat_sdk(emulator: EmulatorServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{emulator.url}/v1", api_key=emulator.api_key, max_retries=0)


def gemini_sdk(emulator: EmulatorServer) -> genai.Client:
    options = types.HttpOptions(base_url=emulator.url, api_version="v1beta",
                                retry_options=types.HttpRetryOptions(attempts=1))  # fmt: skip
    return genai.Client(api_key=emulator.api_key, http_options=options)


def follows(answer: dict[str, object]) -> None:
    shots = answer["shots"]
    assert isinstance(shots, list) and 2 <= len(shots) <= 4 and answer["mood"] in ("calm", "tense")
    for shot in shots:
        assert set(shot) == {"seconds", "scene"} and 1 <= shot["seconds"] <= 5 and shot["scene"]


def test_openai_sdk_json_schema_answer_is_deterministic(emulator: EmulatorServer) -> None:
    def ask() -> str:
        done = chat_sdk(emulator).chat.completions.create(
            model="gemini-2.5-pro-preview-05-06",
            messages=[{"role": "system", "content": "Plan shots."}, {"role": "user", "content": "a kite at the beach"}],
            response_format={"type": "json_schema", "json_schema": {"name": "plan", "schema": SCHEMA, "strict": True}},
        )
        assert done.object == "chat.completion" and done.choices[0].finish_reason == "stop"
        assert done.usage is not None and done.usage.total_tokens > 0
        return done.choices[0].message.content or ""

    first = ask()
    follows(json.loads(first))
    assert ask() == first  # the same request, the same answer


def test_openai_sdk_video_analysis_is_for_gemini_models_only(emulator: EmulatorServer) -> None:
    video: ChatCompletionContentPartParam = {"type": "image_url", "image_url": {"url": "https://cdn.example/clip.mp4"}}
    content: list[ChatCompletionContentPartParam] = [{"type": "text", "text": "what happens?"}, video]
    done = chat_sdk(emulator).chat.completions.create(model="gemini-2.5-pro-preview-05-06", messages=[user(content)])
    assert "1 video(s)" in (done.choices[0].message.content or "")
    with pytest.raises(openai.BadRequestError, match="Gemini models only"):
        chat_sdk(emulator).chat.completions.create(model="gpt-4o-mini", messages=[user(content)])


def test_openai_sdk_image_generation_links_a_real_png(emulator: EmulatorServer) -> None:
    done = chat_sdk(emulator).chat.completions.create(
        model="gpt-4o-image", messages=[{"role": "user", "content": "a red kite"}]
    )
    text = done.choices[0].message.content or ""
    url = text[text.index("](") + 2 : text.index(")")]
    png = httpx.get(url)
    assert (
        png.status_code == 200
        and png.headers["content-type"] == "image/png"
        and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    )


def test_genai_sdk_generate_content_with_schema_and_thoughts(emulator: EmulatorServer) -> None:
    client = gemini_sdk(emulator)  # held: the SDK closes its HTTP client when the Client is collected
    answer = client.models.generate_content(
        model="gemini-2.5-pro",
        contents="a kite at the beach",
        config=types.GenerateContentConfig(
            response_mime_type="application/json",
            response_schema=SCHEMA,
            thinking_config=types.ThinkingConfig(thinking_budget=512, include_thoughts=True),
        ),
    )
    parts = answer.candidates[0].content.parts  # type: ignore[index, union-attr]
    assert parts is not None and parts[0].thought is True
    follows(json.loads(answer.text or ""))
    assert answer.usage_metadata is not None and answer.usage_metadata.prompt_token_count
    assert emulator.state.counts["POST /v1beta/models/{model}:generateContent"] == 1


def test_genai_sdk_inline_video_and_errors(emulator: EmulatorServer) -> None:
    client = gemini_sdk(emulator)
    not_mp4 = types.Part.from_bytes(data=b"not a video", mime_type="video/mp4")
    with pytest.raises(genai_errors.ClientError, match="not a video/mp4"):
        asked = types.Content(role="user", parts=[not_mp4, types.Part.from_text(text="what is this?")])
        client.models.generate_content(model="gemini-2.5-pro", contents=asked)
    with pytest.raises(genai_errors.ClientError, match="thinkingBudget"):
        client.models.generate_content(model="gemini-2.5-pro", contents="hi",
                                       config={"thinking_config": {"thinking_budget": -5}})  # fmt: skip
    with pytest.raises(genai_errors.ClientError) as missing:
        client.models.generate_content(model="gemini-9-ultra", contents="hi")
    assert missing.value.code == 404
