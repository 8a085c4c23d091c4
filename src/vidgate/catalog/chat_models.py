"""Chat models as catalog data: what each can take and give (vision, video input, JSON answers, images).

The entries live in ``catalog/data/*.toml`` under ``[[chat_models]]`` (``95-chat-models.toml``), each with its
sources like a video model. vidgate's assists (plan, frame, review) look a chat model up here and refuse a
missing capability before any request, naming the models that have it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vidgate.catalog.loader import Catalog, _packaged_docs
from vidgate.errors import ValidationError
from vidgate.problems import Problem

Protocol = Literal["openai-chat", "gemini-generate-content"]
Capability = Literal["vision", "video_input", "structured_output", "image_output"]

CAPABILITY_WORDS: dict[Capability, str] = {
    "vision": "image input",
    "video_input": "video input",
    "structured_output": "JSON-schema answers (structured output)",
    "image_output": "image output",
}


class ChatModelSpec(BaseModel):
    """One chat model as one provider serves it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="Unique name: provider/model, with :method for a second protocol of one model")
    provider: str = Field(description="The catalog provider whose host and key it uses")
    model: str = Field(description="The id sent on the wire")
    protocol: Protocol
    summary: str = ""
    vision: bool = False
    video_input: bool = False
    video_transports: list[Literal["url", "inline"]] = Field(default_factory=list)
    max_video_bytes: int | None = None
    structured_output: bool = False
    image_output: bool = False
    thinking: bool = False
    max_prompt_chars: int | None = None
    sources: list[str] = Field(min_length=1)
    notes: list[str] = Field(default_factory=list)
    unconfirmed: list[str] = Field(default_factory=list)

    @field_validator("unconfirmed")
    @classmethod
    def _known_facts(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in cls.model_fields]
        if unknown:
            raise ValueError(f"unconfirmed names unknown fields {unknown}")
        return value

    def has(self, capability: Capability) -> bool:
        return bool(getattr(self, capability))


class ChatCatalog:
    """Every chat model, looked up by key or by bare wire id (the first entry with it)."""

    def __init__(self, models: list[ChatModelSpec], catalog: Catalog | None = None) -> None:
        self.models: dict[str, ChatModelSpec] = {}
        for m in models:
            if m.key in self.models:
                raise ValueError(f"chat catalog: duplicate key {m.key}")
            if catalog is not None and m.provider not in catalog.providers:
                raise ValueError(f"chat catalog: {m.key} names unknown provider {m.provider}")
            self.models[m.key] = m

    def resolve(self, name: str) -> ChatModelSpec:
        if name in self.models:
            return self.models[name]
        for spec in self.models.values():
            if spec.model == name:
                return spec
        raise ValidationError(
            [
                Problem(
                    "chat_model",
                    name,
                    "not a chat model vidgate knows",
                    allowed=", ".join(self.models),
                    suggestion="pick one of those (`vidgate plan --help` lists them)",
                )
            ],
            name,
        )

    def having(self, *capabilities: Capability) -> list[ChatModelSpec]:
        return [m for m in self.models.values() if all(m.has(c) for c in capabilities)]

    def require(self, name: str | None, *capabilities: Capability, field: str = "chat_model") -> ChatModelSpec:
        """The chat model ``name`` (default: the first with every capability), refused when it lacks one."""
        if name is None:
            fitting = self.having(*capabilities)
            if not fitting:
                raise ValidationError(
                    [Problem(field, None, "no chat model in the catalog has " + _words(capabilities))]
                )
            return fitting[0]
        spec = self.resolve(name)
        missing = [c for c in capabilities if not spec.has(c)]
        if missing:
            others = [m.key for m in self.having(*capabilities)]
            raise ValidationError(
                [
                    Problem(
                        field,
                        spec.key,
                        f"{spec.key} has no {_words(missing, 'and no')} (catalog: {spec.sources[0]})",
                        allowed=", ".join(others) or "none",
                        suggestion="pick a chat model that has it; nothing was sent",
                    )
                ],
                spec.key,
            )
        return spec


def _words(capabilities: tuple[Capability, ...] | list[Capability], joiner: str = "or") -> str:
    return f" {joiner} ".join(CAPABILITY_WORDS[c] for c in capabilities)


@lru_cache(maxsize=1)
def load_chat_catalog() -> ChatCatalog:
    """The packaged ``[[chat_models]]`` entries."""
    raw = [entry for doc in _packaged_docs() for entry in doc.get("chat_models", [])]
    return ChatCatalog([ChatModelSpec.model_validate(entry) for entry in raw])
