"""Turn a verified Standard Webhooks body into a ``WebhookHint`` (or ``None``: not about a video job).

Each parser knows one sender's envelope; the receiver stays generic. Events that cannot concern a video
job (batches, responses, evals...) return ``None`` and are acknowledged with 200 so the sender does not
retry them. Anything in a handled family that names an id becomes a hint: a spare status fetch is harmless.

- OpenAI (shared/reference/core-providers.md §1.7; https://developers.openai.com/api/docs/guides/video-generation):
  ``{"id": "evt_…", "object": "event", "created_at": …, "type": "video.completed" | "video.failed",
  "data": {"id": "video_…"}}`` — ``data.id`` is the video (the job's provider task id).
- Gemini API static webhooks (core-providers.md §2.8, google-2026.md "Webhooks";
  https://ai.google.dev/gemini-api/docs/webhooks, https://ai.google.dev/api/webhooks): thin payload
  ``{"type", "version", "timestamp", "data": {"id", …}}`` with ``interaction.completed`` /
  ``interaction.failed`` (Omni on the Interactions API) and ``video.generated`` (Veo LRO). Gemini has
  no video-failed event, so polling finds Veo failures. ``data.id`` is passed on as sent: for Veo it may
  be the bare operation id while vidgate stores the full ``models/…/operations/<id>`` name, so the engine
  should match on the last path segment too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from vidgate.webhooks.errors import MalformedBodyError
from vidgate.webhooks.hints import WebhookHint


@dataclass(frozen=True)
class HintContext:
    provider: str
    webhook_id: str | None
    received_at: float


HintParser = Callable[[Any, HintContext], WebhookHint | None]


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | None = None
    name: str | None = None


class _Envelope(BaseModel):
    """The part every Standard Webhooks sender here shares: a ``type`` and a ``data`` object."""

    model_config = ConfigDict(extra="allow")
    type: str
    data: _Data | None = None


OPENAI_FAMILIES = ("video.",)
GEMINI_FAMILIES = ("video.", "interaction.")


def openai_hint(payload: Any, ctx: HintContext) -> WebhookHint | None:
    """OpenAI project webhook event -> hint for ``video.*`` events (``data.id`` is the video id)."""
    return _family_hint(payload, ctx, OPENAI_FAMILIES, sender="OpenAI", example='"data": {"id": "video_…"}')


def gemini_hint(payload: Any, ctx: HintContext) -> WebhookHint | None:
    """Gemini API webhook thin payload -> hint for ``interaction.*`` and ``video.*`` events."""
    return _family_hint(payload, ctx, GEMINI_FAMILIES, sender="Gemini API", example='"data": {"id": "…"}')


def _family_hint(
    payload: Any, ctx: HintContext, families: tuple[str, ...], *, sender: str, example: str
) -> WebhookHint | None:
    if not isinstance(payload, dict):
        raise MalformedBodyError(
            f"The {sender} webhook body is JSON {type(payload).__name__}, not an object with 'type' and 'data'."
        )
    try:
        event = _Envelope.model_validate(payload)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "(body)" for e in exc.errors())
        raise MalformedBodyError(
            f"The {sender} webhook body does not have the documented envelope (problem at: {fields}); "
            "expected {'type': '<event>', 'data': {...}}."
        ) from None
    if not event.type.startswith(families):
        return None
    task_id = (event.data.id or event.data.name) if event.data else None
    if not task_id:
        raise MalformedBodyError(
            f"The {sender} {event.type!r} event names no job: data.id is missing or empty (expected {example})."
        )
    return WebhookHint(
        provider=ctx.provider,
        event_type=event.type,
        provider_task_id=task_id,
        webhook_id=ctx.webhook_id,
        received_at=ctx.received_at,
        raw=payload,
    )
