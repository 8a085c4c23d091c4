"""The relay's OpenAI-format chat, sans-IO: ``POST /v1/chat/completions`` and its ``chat.completion`` answer.

Images and the video travel as ``image_url`` content parts (the video as its mp4 URL, which the relay
documents for Gemini models only); a JSON answer is asked for with ``response_format: {"type":
"json_schema", ...}`` (seed-relay-api.md "Other chat features").
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from vidgate.assists.ask import ChatAsk, ChatReply, auth_headers
from vidgate.catalog.chat_models import ChatModelSpec
from vidgate.errors import ProtocolError
from vidgate.providers import Connection
from vidgate.providers._base import raise_for_status

PATH = "/v1/chat/completions"


def body(ask: ChatAsk, spec: ChatModelSpec) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": ask.text}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in ask.images]
    if ask.video is not None:
        if ask.video.url is None:
            raise ValueError("the chat route takes a video by URL only")  # run.py picks the route before this
        parts.append({"type": "image_url", "image_url": {"url": ask.video.url}})
    messages: list[dict[str, Any]] = []
    if ask.system:
        messages.append({"role": "system", "content": ask.system})
    messages.append({"role": "user", "content": parts})
    out: dict[str, Any] = {"model": spec.model, "messages": messages, "stream": False}
    if ask.schema is not None:
        out["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": ask.schema_name, "schema": ask.schema, "strict": True},
        }
    return out


def build(ask: ChatAsk, spec: ChatModelSpec, conn: Connection) -> httpx.Request:
    headers = {**auth_headers(conn), "Accept": "application/json", "Content-Type": "application/json"}
    content = json.dumps(body(ask, spec), ensure_ascii=False).encode("utf-8")
    return httpx.Request("POST", conn.url(PATH), headers=headers, content=content)


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = "assistant"
    content: str | list[dict[str, Any]] | None = None


class _Choice(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: _Message
    finish_reason: str | None = None


class _Usage(BaseModel):
    model_config = ConfigDict(extra="allow")

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class ChatCompletion(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = ""
    object: str = "chat.completion"
    choices: list[_Choice]
    usage: _Usage | None = None


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):  # some relays answer content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content or ""


def parse(spec: ChatModelSpec, response: httpx.Response) -> ChatReply:
    raise_for_status(spec.provider, response)
    try:
        answer = ChatCompletion.model_validate_json(response.content)
    except ValidationError:
        raise ProtocolError(spec.provider, f"not a chat.completion: {response.text[:300]!r}", response.text) from None
    if not answer.choices:
        raise ProtocolError(spec.provider, "the chat.completion has no choices", response.text)
    usage = answer.usage or _Usage()
    cost = getattr(usage, "cost", None)  # OpenRouter-style relays report it in usage
    return ChatReply(
        text=_text(answer.choices[0].message.content),
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
        raw=answer.model_dump(mode="json"),
    )
