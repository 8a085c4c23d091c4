"""The shape of a capability-catalog entry. The data itself lives in ``catalog/data/*.toml``."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vidgate.types import ImageRole

_STRICT = ConfigDict(extra="forbid", frozen=True)
ImageFormat = Literal["jpeg", "png", "webp", "gif", "heic", "heif", "bmp", "tiff"]
Delivery = Literal["poll", "webhook", "sync", "stream"]
_DEFAULT_FORMATS: tuple[ImageFormat, ...] = ("jpeg", "png", "webp")
_DEFAULT_DELIVERY: tuple[Delivery, ...] = ("poll",)


class DurationSpec(BaseModel):
    """How long a clip may be and how the provider wants the number written."""

    model_config = _STRICT

    field: str | None = Field(None, description="Wire field; None when the length is fixed and not sent")
    wire_type: Literal["string", "int", "number", "seconds_suffix"] = "int"
    values: list[float] = Field(default_factory=list, description="Discrete allowed values")
    min: float | None = None
    max: float | None = None
    step: float | None = None
    default: float | None = None
    note: str = ""

    def allows(self, seconds: float) -> bool:
        if self.values:
            return any(abs(seconds - v) < 1e-6 for v in self.values)
        if self.min is not None and self.max is not None:
            if not self.min - 1e-6 <= seconds <= self.max + 1e-6:
                return False
            if self.step:
                k = (seconds - self.min) / self.step
                return abs(k - round(k)) < 1e-6
            return True
        return self.default is not None and abs(seconds - self.default) < 1e-6

    def canonical(self, seconds: float) -> float:
        """The allowed value ``seconds`` stands for (equal within rounding), as the catalog writes it."""
        if self.values:
            return next((v for v in self.values if abs(seconds - v) < 1e-6), seconds)
        if self.min is not None and self.step:
            k = round((seconds - self.min) / self.step)
            return round(self.min + k * self.step, 6)
        if self.min is not None and self.max is not None:
            whole = float(round(seconds))
            return min(max(whole if abs(seconds - whole) < 1e-6 else seconds, self.min), self.max)
        return self.default if self.default is not None and abs(seconds - self.default) < 1e-6 else seconds

    def candidates(self) -> list[float]:
        if self.values:
            return list(self.values)
        if self.min is not None and self.max is not None:
            step = self.step or 1.0
            out, x = [], self.min
            while x <= self.max + 1e-9:
                out.append(round(x, 3))
                x += step
            return out
        return [self.default] if self.default is not None else []

    def describe(self) -> str:
        if self.values:
            return ", ".join(_fmt(v) for v in self.values) + " s"
        if self.min is not None and self.max is not None:
            step = f" in steps of {_fmt(self.step)}" if self.step else ""
            return f"{_fmt(self.min)} to {_fmt(self.max)} s{step}"
        if self.default is not None:
            return f"fixed {_fmt(self.default)} s (not sent)"
        return "not documented"

    def encode(self, seconds: float) -> Any:
        whole = int(seconds) if float(seconds).is_integer() else seconds
        if self.wire_type == "string":
            return str(whole)
        if self.wire_type == "seconds_suffix":
            return f"{whole}s"
        if self.wire_type == "int":
            return round(seconds)
        return whole


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else str(x)


class ChoiceSpec(BaseModel):
    """A field that takes one of a set of strings (aspect ratio, resolution, size)."""

    model_config = _STRICT

    field: str | None = Field(None, description="Wire field; None when the provider has no such parameter")
    values: list[str] = Field(default_factory=list)
    default: str | None = None
    note: str = ""

    @property
    def supported(self) -> bool:
        return self.field is not None and bool(self.values)


class HdSpec(BaseModel):
    model_config = _STRICT

    field: str | None = None
    ignored_at_durations: list[float] = Field(default_factory=list)
    note: str = ""

    @property
    def supported(self) -> bool:
        return self.field is not None


class ImageSpec(BaseModel):
    """How reference images travel and what the provider accepts."""

    model_config = _STRICT

    field: str | None = None
    max_count: int = 0
    min_count: int = 0
    transports: list[Literal["url", "base64", "data_uri", "multipart", "inline", "gcs"]] = Field(
        default_factory=list, description="gcs: gs://bucket/object URIs passed through untouched"
    )
    base64_form: Literal["raw", "data_uri"] = "data_uri"
    roles: list[ImageRole] = Field(default_factory=list, description="Roles this model understands")
    default_role: ImageRole = ImageRole.reference
    formats: list[ImageFormat] = Field(default_factory=lambda: list(_DEFAULT_FORMATS))
    max_bytes: int | None = None
    max_pixels: int | None = None
    min_side: int | None = None
    min_aspect: float | None = Field(None, description="Smallest accepted width/height of an image (e.g. 0.25 = 1:4)")
    max_aspect: float | None = Field(None, description="Largest accepted width/height of an image (e.g. 4 = 4:1)")
    must_match_size: bool = False
    note: str = ""

    @property
    def supported(self) -> bool:
        return self.max_count > 0


class PromptSpec(BaseModel):
    model_config = _STRICT

    max_chars: int | None = None
    max_tokens: int | None = None
    required: bool = True
    rules: list[str] = Field(default_factory=list, description="Content restrictions in plain words")
    note: str = ""


class ResultSpec(BaseModel):
    """Question 4: how results and errors come back."""

    model_config = _STRICT

    delivery: list[Delivery] = Field(default_factory=lambda: list(_DEFAULT_DELIVERY))
    status_values: list[str] = Field(default_factory=list)
    where: str = ""
    url_lifetime: str = ""
    download_auth: bool = False
    error_shapes: list[str] = Field(default_factory=list)
    note: str = ""


class VideoInputSpec(BaseModel):
    """Videos a model takes as input (for extension, editing or as references), sent as dialect options."""

    model_config = _STRICT

    max_count: int = 0
    max_seconds: float | None = Field(None, description="Longest accepted input video (reference videos)")
    max_bytes: int | None = Field(None, description="Largest video sent inline")
    transports: list[Literal["url", "base64", "inline", "gcs"]] = Field(default_factory=list)
    note: str = ""


class AudioInputSpec(BaseModel):
    """Audio clips a model takes as input (reference or driving audio), sent as dialect options."""

    model_config = _STRICT

    max_count: int = 0
    max_seconds: float | None = Field(None, description="Longest accepted input audio")
    transports: list[Literal["url", "base64"]] = Field(default_factory=list)
    note: str = ""


class ExtensionSpec(BaseModel):
    """How far a model can extend a video: seconds added per call and the longest result."""

    model_config = _STRICT

    min_s: float
    max_s: float
    max_total_s: float | None = None
    note: str = ""


class CharacterSpec(BaseModel):
    """Question 5: the character (cameo) feature."""

    model_config = _STRICT

    supported: bool = False
    how: str = ""


class Sunset(BaseModel):
    model_config = _STRICT

    date: date
    kind: Literal["retired", "upstream"] = Field(
        description="retired: this model id is gone (refused without an override); "
        "upstream: the vendor behind this route retired it (warn, the route may still answer)"
    )
    note: str = ""
    source: str = ""


class Constraint(BaseModel):
    """A rule between fields: when every ``when`` field has one of the listed values, ``require`` must hold."""

    model_config = _STRICT

    when: dict[str, list[Any]]
    require: dict[str, list[Any]]
    message: str


class LatencyAdjust(BaseModel):
    model_config = _STRICT

    when: dict[str, list[Any]]
    add_s: float


class ModelSpec(BaseModel):
    """One model as one provider serves it: everything vidgate needs to validate, send and explain."""

    model_config = _STRICT

    key: str = Field(description="provider/model: unique across the catalog")
    provider: str
    dialect: str
    model: str = Field(description="The id sent on the wire")
    family: str = ""
    summary: str = ""
    modes: list[str] = Field(default_factory=list)
    duration: DurationSpec = DurationSpec()
    aspect_ratio: ChoiceSpec = ChoiceSpec()
    resolution: ChoiceSpec = ChoiceSpec()
    size: ChoiceSpec = ChoiceSpec()
    hd: HdSpec = HdSpec()
    images: ImageSpec = ImageSpec()
    prompt: PromptSpec = PromptSpec()
    storyboard: bool = False
    characters: CharacterSpec = CharacterSpec()
    video_inputs: VideoInputSpec = VideoInputSpec()
    audio_inputs: AudioInputSpec = AudioInputSpec()
    extension: ExtensionSpec | None = None
    options: list[str] = Field(default_factory=list, description="Dialect option names this model accepts")
    constraints: list[Constraint] = Field(default_factory=list)
    typical_latency_s: float = 120.0
    latency_adjust: list[LatencyAdjust] = Field(default_factory=list)
    deadline_s: float = 3600.0
    price_per_second_usd: float | None = None
    price_per_second_by_resolution_usd: dict[str, float] = Field(
        default_factory=dict,
        description="Per-second prices that depend on the resolution (OpenRouter SKUs "
        "per-video-second-<resolution>); used before price_per_second_usd when the request's resolution is here",
    )
    price_per_video_usd: float | None = Field(None, description="A flat price per video (OpenRouter SKU per-video)")
    audio: bool | None = None
    sunset: Sunset | None = None
    results: ResultSpec = ResultSpec()
    sources: list[str] = Field(min_length=1, description="Where each fact comes from")
    notes: list[str] = Field(default_factory=list, description="Choices made where sources disagree")
    unconfirmed: list[str] = Field(
        default_factory=list,
        description="Facts (field names such as duration, images.max_count) that rest only on third-party [3P] "
        "or unverified sources; `vidgate models` marks them unconfirmed",
    )

    @field_validator("unconfirmed")
    @classmethod
    def _known_facts(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v.split(".", 1)[0] not in cls.model_fields]
        if unknown:
            raise ValueError(f"unconfirmed names unknown fields {unknown}; use ModelSpec field names")
        return value

    def is_unconfirmed(self, fact: str) -> bool:
        """Whether ``fact`` (e.g. ``images``) or any part of it (``images.max_count``) is unconfirmed."""
        return any(u == fact or u.startswith(fact + ".") for u in self.unconfirmed)


class SettingSpec(BaseModel):
    """A per-provider setting other than the key (e.g. a cloud project or region), read from the environment."""

    model_config = _STRICT

    env: list[str] = Field(min_length=1, description="Environment variables to read, first set wins")
    default: str | None = None
    required: bool = True
    description: str = ""


class ProviderSpec(BaseModel):
    """A provider is (dialect family, host, credentials); many share one dialect."""

    model_config = _STRICT

    name: str
    title: str
    base_url: str
    base_url_env: str
    api_key_env: str
    # key: `Authorization: Key` (fal); kling-jwt: a JWT signed with the setting secret_key, iss = the API key
    auth: Literal["bearer", "x-goog-api-key", "google-oauth", "key", "kling-jwt"] = "bearer"
    path_prefix: str = Field(
        "",
        description="Path between the host and the dialect's routes (e.g. api/paas/v4); not repeated when the "
        "configured base URL already ends with it",
    )
    settings: dict[str, SettingSpec] = Field(
        default_factory=dict, description="Extra settings; the base URL may name them as {setting}"
    )
    ambient_credentials: Literal["google-adc"] | None = Field(
        None,
        description="Where to get a bearer token when no key is configured: google-adc = Application Default "
        "Credentials through the google-auth library",
    )
    models_path: str | None = Field(
        None, description="OpenAI-format list of the account's models (GET, e.g. /v1/models): `vidgate models --remote`"
    )
    docs: str = ""
    note: str = ""
