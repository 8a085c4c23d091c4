"""Gemini's native format, sans-IO: ``POST /v1beta/models/{model}:generateContent`` and its answer.

``contents[].parts[]`` carry the text and the video (``inlineData`` bytes, or ``fileData`` by URL);
``generationConfig`` asks for a JSON answer (``responseMimeType`` + ``responseSchema``, Google's OpenAPI
subset with upper-case types) and sets ``thinkingConfig {thinkingBudget, includeThoughts}`` as the seed
documents. The answer is ``candidates[0].content.parts[]``; parts marked ``thought`` are left out.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from vidgate.assists.ask import ChatAsk, ChatReply, auth_headers
from vidgate.catalog.chat_models import ChatModelSpec
from vidgate.errors import ProtocolError
from vidgate.providers import Connection
from vidgate.providers._base import raise_for_status

THINKING_BUDGET = 1024  # enough for a verdict or a shot list; the answer itself is small
_SCHEMA_KEYS = {"description", "enum", "required", "minimum", "maximum", "minItems", "maxItems", "nullable"}


def gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema in Google's ``Schema`` form: upper-case ``type``, no ``additionalProperties``."""
    out: dict[str, Any] = {k: v for k, v in schema.items() if k in _SCHEMA_KEYS}
    if "type" in schema:
        out["type"] = str(schema["type"]).upper()
    if "properties" in schema:
        out["properties"] = {k: gemini_schema(v) for k, v in schema["properties"].items()}
    if "items" in schema:
        out["items"] = gemini_schema(schema["items"])
    return out


def path(spec: ChatModelSpec) -> str:
    return f"/v1beta/models/{quote(spec.model, safe='-._')}:generateContent"


def body(ask: ChatAsk, spec: ChatModelSpec) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": ask.text}]
    for url in ask.images:
        parts.append(_image_part(url))
    if ask.video is not None:
        if ask.video.data is not None:
            data = base64.b64encode(ask.video.data).decode("ascii")
            parts.append({"inlineData": {"mimeType": ask.video.mime_type, "data": data}})
        elif ask.video.url is not None:
            parts.append({"fileData": {"mimeType": ask.video.mime_type, "fileUri": ask.video.url}})
    out: dict[str, Any] = {"contents": [{"role": "user", "parts": parts}]}
    if ask.system:
        out["systemInstruction"] = {"parts": [{"text": ask.system}]}
    config: dict[str, Any] = {}
    if ask.schema is not None:
        config["responseMimeType"] = "application/json"
        config["responseSchema"] = gemini_schema(ask.schema)
    if spec.thinking:
        config["thinkingConfig"] = {"thinkingBudget": THINKING_BUDGET, "includeThoughts": False}
    if config:
        out["generationConfig"] = config
    return out


def _image_part(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        head, _, data = url.partition(",")
        return {"inlineData": {"mimeType": head[5:].split(";")[0] or "image/png", "data": data}}
    return {"fileData": {"mimeType": "image/*", "fileUri": url}}


def build(ask: ChatAsk, spec: ChatModelSpec, conn: Connection) -> httpx.Request:
    headers = {**auth_headers(conn), "Accept": "application/json", "Content-Type": "application/json"}
    content = json.dumps(body(ask, spec), ensure_ascii=False).encode("utf-8")
    return httpx.Request("POST", conn.url(path(spec)), headers=headers, content=content)


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str | None = None
    thought: bool | None = None


class _Content(BaseModel):
    model_config = ConfigDict(extra="allow")

    parts: list[_Part] = []


class _Candidate(BaseModel):
    model_config = ConfigDict(extra="allow")

    content: _Content | None = None
    finishReason: str | None = None


class _Usage(BaseModel):
    model_config = ConfigDict(extra="allow")

    promptTokenCount: int | None = None
    candidatesTokenCount: int | None = None
    thoughtsTokenCount: int | None = None


class GenerateContentResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    candidates: list[_Candidate] = []
    usageMetadata: _Usage | None = None
    promptFeedback: dict[str, Any] | None = None


def parse(spec: ChatModelSpec, response: httpx.Response) -> ChatReply:
    raise_for_status(spec.provider, response)
    try:
        answer = GenerateContentResponse.model_validate_json(response.content)
    except ValidationError:
        raise ProtocolError(
            spec.provider, f"not a generateContent answer: {response.text[:300]!r}", response.text
        ) from None
    blocked = (answer.promptFeedback or {}).get("blockReason")
    if blocked:
        raise ProtocolError(spec.provider, f"the prompt was blocked ({blocked})", response.text)
    if not answer.candidates or answer.candidates[0].content is None:
        reason = answer.candidates[0].finishReason if answer.candidates else "no candidates"
        raise ProtocolError(spec.provider, f"the answer has no content ({reason})", response.text)
    text = "".join(p.text or "" for p in answer.candidates[0].content.parts if not p.thought)
    usage = answer.usageMetadata or _Usage()
    completion = None
    if usage.candidatesTokenCount is not None:
        completion = usage.candidatesTokenCount + (usage.thoughtsTokenCount or 0)
    return ChatReply(
        text=text,
        prompt_tokens=usage.promptTokenCount,
        completion_tokens=completion,
        raw=answer.model_dump(mode="json"),
    )
