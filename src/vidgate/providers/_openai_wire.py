"""The wire shapes of the OpenAI-format Videos API: the video object (with relay drift), sizes, multipart.

Pure data and functions used by ``openai_videos`` (the dialect); see its docstring for the choices.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import ProtocolError
from vidgate.problems import Problem
from vidgate.types import VideoRequest

# ---------------------------------------------------------------- the video object (with relay drift)


class VideoErrorBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str | None = None
    message: str | None = None


class VideoObject(BaseModel):
    """OpenAI's ``Video`` resource, tolerant of what relays send instead.

    Relay drift (seed-relay-api.md): ids containing ``:``, ``created_at`` in milliseconds, ``size: "small"``,
    extra ``video_url`` / ``url`` fields (empty strings while running), ``error`` only on failure; new-api
    sometimes names the id ``task_id``.
    """

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    object: str | None = None
    model: str | None = None
    status: str | None = None
    progress: int | float | str | None = None
    created_at: int | float | None = None
    completed_at: int | float | None = None
    expires_at: int | float | None = None
    seconds: str | int | float | None = None
    size: str | None = None
    prompt: str | None = None
    remixed_from_video_id: str | None = None
    error: VideoErrorBody | None = None
    video_url: str | None = None
    url: str | None = None

    @field_validator("error", mode="before")
    @classmethod
    def _error_text(cls, v: Any) -> Any:
        if isinstance(v, str):
            return {"message": v} if v.strip() else None
        return v

    @classmethod
    def parse(cls, provider: str, body: Any) -> VideoObject:
        if isinstance(body, dict) and not body.get("id") and isinstance(body.get("task_id"), str):
            body = {**body, "id": body["task_id"]}
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise ProtocolError(provider, f"unexpected video object ({where}: {first['msg']})", body) from None

    @property
    def result_url(self) -> str | None:
        """The relay's direct link to the finished MP4, when it gives one."""
        for candidate in (self.video_url, self.url):
            if candidate and candidate.strip().startswith(("http://", "https://")):
                return candidate.strip()
        return None


class VideoListBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    object: str | None = None
    data: list[dict[str, Any]] = Field(default_factory=list)
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool | None = None


class DeletedBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    object: str | None = None
    deleted: bool = False


# ---------------------------------------------------------------- sizes


def parse_size(value: str | None) -> tuple[int, int] | None:
    m = re.fullmatch(r"\s*(\d+)\s*[x×]\s*(\d+)\s*", value or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _orientation(width: float, height: float) -> str:
    return "landscape" if width > height else "portrait" if height > width else "square"


def _aspect_orientation(aspect_ratio: str) -> str | None:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[:x×/]\s*(\d+(?:\.\d+)?)\s*", aspect_ratio)
    return _orientation(float(m.group(1)), float(m.group(2))) if m else None


def mapped_size(request: VideoRequest, spec: ModelSpec, orientation: str | None = None) -> str | None:
    """The model's size for the request's aspect ratio and resolution / hd (None when they map to none).

    Orientation from ``aspect_ratio`` (else the given one, else the default size's); among the model's
    sizes of that orientation ordered by area, ``resolution`` takes the same rank it has in the model's
    resolution list, ``hd=True`` the largest, neither the smallest.
    """
    if request.aspect_ratio:
        orientation = _aspect_orientation(request.aspect_ratio)
    if orientation is None:
        default = parse_size(spec.size.default)
        orientation = _orientation(*default) if default else None
    sized = [(v, parse_size(v)) for v in spec.size.values]
    same = sorted(
        ((v, wh) for v, wh in sized if wh and _orientation(*wh) == orientation),
        key=lambda item: item[1][0] * item[1][1],
    )
    if not same:
        return None
    if request.resolution is not None:
        if request.resolution not in spec.resolution.values:
            return None
        rank = spec.resolution.values.index(request.resolution)
        return same[rank][0] if rank < len(same) else None
    if request.hd:
        return same[-1][0]
    return same[0][0]


def target_size(request: VideoRequest, spec: ModelSpec) -> tuple[str | None, list[Problem]]:
    """The ``size`` to send (None = send none) and any contradiction between size, aspect ratio and resolution."""
    shaped = request.aspect_ratio is not None or request.resolution is not None or bool(request.hd)
    if request.size is not None:
        given = parse_size(request.size)
        if not shaped or given is None or request.size not in spec.size.values:
            return request.size, []
        mapped = mapped_size(request, spec, _orientation(*given))
        if mapped is not None and mapped != request.size:
            asked = ", ".join(
                f"{k}={v}"
                for k, v in (
                    ("aspect_ratio", request.aspect_ratio),
                    ("resolution", request.resolution),
                    ("hd", request.hd),
                )
                if v
            )
            return request.size, [
                Problem(
                    "size",
                    request.size,
                    f"contradicts {asked}, which means size {mapped} on {spec.key}",
                    allowed=", ".join(spec.size.values),
                    suggestion="give either size or aspect_ratio/resolution, not both",
                )
            ]
        return request.size, []
    if not shaped:
        return None, []
    return mapped_size(request, spec), []


# ---------------------------------------------------------------- multipart


def encode_multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes, str]], boundary: str
) -> tuple[bytes, str]:
    """A multipart/form-data body (text fields first, then files) and its Content-Type header value."""

    def quoted(text: str) -> str:
        return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")

    dash = b"--" + boundary.encode("ascii")
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f'Content-Disposition: form-data; name="{quoted(name)}"\r\n\r\n'
        parts += [dash, b"\r\n", head.encode("utf-8"), value.encode("utf-8"), b"\r\n"]
    for name, (filename, data, content_type) in files.items():
        head = (
            f'Content-Disposition: form-data; name="{quoted(name)}"; filename="{quoted(filename)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts += [dash, b"\r\n", head.encode("utf-8"), data, b"\r\n"]
    parts += [dash, b"--\r\n"]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
