"""What an assist asks a chat model, and what comes back, independent of the wire protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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


ChatOutcome = Literal["sending", "answered", "refused", "not_sent", "lost"]


@dataclass
class ChatCalls:
    """What became of each chat request an assist sent, in order (one entry per attempt):

    ``answered``  a 2xx answer: the provider ran and billed it, whatever vidgate then made of it
    ``refused``   an HTTP error answer (429, 4xx, 5xx): not run, not billed
    ``not_sent``  no connection was made: it never left
    ``lost``      sent, and the answer never came (read timeout, reset): it may have run and been billed
    ``sending``   still in flight when the assist stopped (cancelled): treated like ``lost``

    The gateway keeps an assist's charge exactly when ``may_be_billed``.
    """

    outcomes: list[ChatOutcome] = field(default_factory=list)

    def start(self) -> None:
        self.outcomes.append("sending")

    def end(self, outcome: ChatOutcome) -> None:
        self.outcomes[-1] = outcome

    @property
    def answered(self) -> bool:
        return "answered" in self.outcomes

    @property
    def may_be_billed(self) -> bool:
        return any(o in ("answered", "lost", "sending") for o in self.outcomes)
