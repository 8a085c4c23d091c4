"""What an assist asks a chat model, and what comes back, independent of the wire protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vidgate.providers import Connection


@dataclass(frozen=True)
class VideoPart:
    """The video a review looks at: its URL, or its bytes (sent inline where the route takes bytes)."""

    url: str | None = None
    data: bytes | None = field(default=None, repr=False)
    mime_type: str = "video/mp4"


@dataclass(frozen=True)
class ChatAsk:
    """One question: instructions, the user's text, images (URLs or data URIs), a video, a JSON schema."""

    text: str
    system: str = ""
    images: tuple[str, ...] = ()
    video: VideoPart | None = None
    schema: dict[str, Any] | None = None
    schema_name: str = "answer"


@dataclass(frozen=True)
class ChatReply:
    """The answer's text (thoughts left out), what it used, and the raw body for debugging."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    raw: Any = None


def auth_headers(conn: Connection) -> dict[str, str]:
    if conn.provider.auth == "x-goog-api-key":
        return {"x-goog-api-key": conn.api_key}
    return {"Authorization": f"Bearer {conn.api_key}"}
