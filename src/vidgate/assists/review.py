"""Review: a video-capable chat model checks a finished video against its prompt and answers a verdict.

The video is sent the way each route documents, never as a local path: the relay's chat takes the mp4's URL
as an ``image_url`` part (Gemini models only); ``:generateContent`` takes the bytes inline (or the URL as
``fileData``). ``route_video`` picks what to send from what is known about the video and what the chat model
takes, and refuses before any request when nothing fits (a local file for a URL-only route, a file over the
inline limit, a model without video input).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError

from vidgate.assists.answers import AnswerError
from vidgate.assists.ask import VideoPart
from vidgate.catalog.chat_models import ChatCatalog, ChatModelSpec
from vidgate.errors import ValidationError
from vidgate.problems import Problem
from vidgate.types import Verdict, VerdictIssue

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "matches": {"type": "boolean", "description": "Whether the video shows what the prompt asks for"},
        "summary": {"type": "string", "description": "One or two sentences"},
        "issues": {
            "type": "array",
            "maxItems": 10,
            "items": {
                "type": "object",
                "properties": {
                    "what": {"type": "string", "description": "What is off"},
                    "start_s": {"type": "number", "minimum": 0, "description": "Where it starts, seconds"},
                    "end_s": {"type": "number", "minimum": 0, "description": "Where it ends, seconds"},
                },
                "required": ["what", "start_s", "end_s"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["matches", "summary", "issues"],
    "additionalProperties": False,
}


def instructions(duration: float | None) -> str:
    """The reviewer's instructions (system); the prompt to check against is the user's message."""
    length = f" It is {duration:g} seconds long." if duration else ""
    return (
        f"You review generated videos.{length} Say whether the attached video shows what the user's prompt asks "
        "for, and list each thing that is off (missing, wrong, distorted, cut short) with the seconds where it is "
        "seen. Answer only with JSON matching the schema."
    )


def verdict_of(answer: dict[str, Any], *, prompt: str, chat_model: str) -> Verdict:
    try:
        issues = [_ordered(VerdictIssue.model_validate(i)) for i in answer.get("issues") or []]
        return Verdict(
            matches=answer["matches"],
            summary=str(answer.get("summary") or ""),
            issues=issues,
            prompt=prompt,
            chat_model=chat_model,
        )
    except (KeyError, TypeError, PydanticValidationError) as exc:
        raise AnswerError(f"the verdict does not follow the schema ({exc.__class__.__name__}: {exc})") from None


def _ordered(issue: VerdictIssue) -> VerdictIssue:
    """A span given backwards (models do) read as the span it names."""
    if issue.start_s is not None and issue.end_s is not None and issue.end_s < issue.start_s:
        return issue.model_copy(update={"start_s": issue.end_s, "end_s": issue.start_s})
    return issue


def choose_reviewer(catalog: ChatCatalog, chat_model: str | None, *, has_url: bool, has_bytes: bool) -> ChatModelSpec:
    """``chat_model`` (refused without video input or JSON answers), or the first that can take this video: by
    URL on the chat route, else its bytes on :generateContent."""
    if chat_model is not None:
        return catalog.require(chat_model, "video_input", "structured_output")
    fitting = catalog.having("video_input", "structured_output")
    takes = [
        m
        for m in fitting
        if ("url" in m.video_transports and has_url) or ("inline" in m.video_transports and has_bytes)
    ]
    return (takes or fitting or [catalog.require(None, "video_input", "structured_output")])[0]


def route_video(spec: ChatModelSpec, *, url: str | None, data: bytes | None, where: str) -> VideoPart:
    """What to send for the video on ``spec``'s route: its URL or its bytes (refused when neither fits)."""
    if "inline" in spec.video_transports and data is not None:
        if spec.max_video_bytes is None or len(data) <= spec.max_video_bytes:
            return VideoPart(data=data)
        if url is None or "url" not in spec.video_transports:
            raise ValidationError(
                [
                    Problem(
                        "video",
                        where,
                        f"{len(data)} bytes is over {spec.key}'s {spec.max_video_bytes}-byte inline limit",
                        suggestion="review a job whose video URL has not expired",
                    )
                ],
                spec.key,
            )
    if "url" in spec.video_transports and url is not None:
        return VideoPart(url=url)
    takes = " or ".join({"url": "an http(s) URL", "inline": "the file's bytes"}[t] for t in spec.video_transports)
    others = "a :generateContent model (it takes the bytes)" if data is not None else "a job whose video has a URL"
    raise ValidationError(
        [
            Problem(
                "video",
                where,
                f"{spec.key} takes the video as {takes}; vidgate never sends a local path",
                allowed=takes,
                suggestion=f"use {others}",
            )
        ],
        spec.key,
    )
