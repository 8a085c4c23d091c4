"""Model discovery: ``GET /v1/models`` (OpenAI format) on a provider, compared with the catalog.

The relay lists every model the account may call (chat models too) as ``{"object": "list", "data":
[{"id", "object": "model", "owned_by", "created", ...}]}``; new-api-lineage relays add
``supported_endpoint_types``. ``compare`` tells which catalog models the account can use (a model whose
dialect sends several wire names, such as ``sora_video2-landscape-hd``, lists each) and which remote
models vidgate does not know yet, flagging the ones that look like video models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import ProtocolError
from vidgate.providers._base import Connection, Dialect, Flow, json_body, raise_for_status

# Capability fields of OpenRouter's VideoModel kept by ``Discovery.capabilities`` (besides supported_*).
CAPS = frozenset({"generate_audio", "seed", "allowed_passthrough_parameters", "pricing_skus"})


class RemoteModel(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    object: str | None = None
    owned_by: str | None = None
    created: int | float | None = None
    supported_endpoint_types: list[str] = Field(default_factory=list)


class _ModelList(BaseModel):
    model_config = ConfigDict(extra="allow")

    data: list[RemoteModel]


def list_models(dialect: Dialect, conn: Connection, path: str) -> Flow[list[RemoteModel]]:
    response = yield dialect.json_request("GET", conn, path)
    provider = conn.provider.name
    raise_for_status(provider, response)
    body: Any = json_body(provider, response)
    if isinstance(body, list):
        body = {"data": body}
    try:
        return _ModelList.model_validate(body).data
    except PydanticValidationError as exc:
        raise ProtocolError(provider, f"unexpected model list: {exc.errors()[0]['msg']}", body) from None


@dataclass
class ModelAvailability:
    """One catalog model and, for each wire name it may send, whether the account lists it."""

    key: str
    provider: str
    model: str
    wire: dict[str, bool]

    @property
    def available(self) -> bool:
        return any(self.wire.values())

    @property
    def complete(self) -> bool:
        return all(self.wire.values())


@dataclass
class UnknownModel:
    id: str
    owned_by: str | None
    likely_video: bool
    known_as: list[str] = field(default_factory=list)  # catalog keys of other providers with this wire id


@dataclass
class Discovery:
    provider: str
    base_url: str
    compared: list[str]  # the providers (same host and key) whose catalog models were compared
    remote_count: int
    models: list[ModelAvailability]
    unknown: list[UnknownModel]
    remote: list[RemoteModel] = field(default_factory=list)  # as listed, with any extra fields (capabilities)

    def capabilities(self) -> dict[str, dict[str, Any]]:
        """Per remote id, the capability fields the list carries beyond the OpenAI-format ones (OpenRouter's
        ``supported_durations``, ``supported_resolutions``, ``pricing_skus``...); empty for plain lists."""
        out = {}
        for m in self.remote:
            extra = {k: v for k, v in (m.model_extra or {}).items() if k.startswith("supported_") or k in CAPS}
            if extra:
                out[m.id] = extra
        return out

    def as_dict(self) -> dict[str, Any]:
        caps = self.capabilities()
        return {
            **({"capabilities": caps} if caps else {}),
            "provider": self.provider,
            "base_url": self.base_url,
            "compared_providers": self.compared,
            "remote_count": self.remote_count,
            "models": [
                {
                    "key": m.key,
                    "provider": m.provider,
                    "model": m.model,
                    "available": m.available,
                    "wire_models": m.wire,
                }
                for m in self.models
            ],
            "unknown": [
                {"id": u.id, "owned_by": u.owned_by, "likely_video": u.likely_video, "known_as": u.known_as}
                for u in self.unknown
            ],
        }


def compare(
    provider: str,
    base_url: str,
    remote: list[RemoteModel],
    scope: Iterable[ModelSpec],
    everything: Iterable[ModelSpec],
    wire_models: Callable[[ModelSpec], list[str]],
) -> Discovery:
    """``scope``: the catalog models on this host; ``everything``: the whole catalog (for ``known_as``)."""
    ids = {m.id for m in remote}
    scope = list(scope)
    models = [ModelAvailability(s.key, s.provider, s.model, {w: w in ids for w in wire_models(s)}) for s in scope]
    in_scope = {w for m in models for w in m.wire}
    families = {s.family.lower() for s in everything if s.family}
    elsewhere: dict[str, list[str]] = {}
    for s in everything:
        if s.provider not in {m.provider for m in models}:
            for w in wire_models(s):
                elsewhere.setdefault(w, []).append(s.key)
    unknown = [
        UnknownModel(
            id=m.id,
            owned_by=m.owned_by,
            likely_video=_looks_like_video(m, families),
            known_as=elsewhere.get(m.id, []),
        )
        for m in sorted(remote, key=lambda r: r.id)
        if m.id not in in_scope
    ]
    compared = sorted({s.provider for s in scope})
    return Discovery(provider, base_url, compared, len(ids), models, unknown, list(remote))


def _looks_like_video(model: RemoteModel, families: set[str]) -> bool:
    if any("video" in t.lower() for t in model.supported_endpoint_types):
        return True
    if any(k in (model.model_extra or {}) for k in ("supported_durations", "supported_frame_images")):
        return True  # a list that publishes video capabilities
    low = model.id.lower()
    return "video" in low or any(f in low for f in families)
