"""One chat exchange on either protocol: the request for a chat model's protocol and its reply."""

from __future__ import annotations

import httpx

from vidgate.assists import gemini_native, openai_chat
from vidgate.assists.ask import ChatAsk, ChatReply
from vidgate.catalog.chat_models import ChatModelSpec
from vidgate.providers import Connection


def build_request(ask: ChatAsk, spec: ChatModelSpec, conn: Connection) -> httpx.Request:
    if spec.protocol == "gemini-generate-content":
        return gemini_native.build(ask, spec, conn)
    return openai_chat.build(ask, spec, conn)


def parse_reply(spec: ChatModelSpec, response: httpx.Response) -> ChatReply:
    if spec.protocol == "gemini-generate-content":
        return gemini_native.parse(spec, response)
    return openai_chat.parse(spec, response)
