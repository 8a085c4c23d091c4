"""Frame: a reference image from the relay's image model, fitted to the video model that will take it.

The image model answers with a picture of its own size; the video model wants its own aspect ratio (an exact
size where the catalog says ``must_match_size``), formats, pixel and byte limits (``ModelSpec.images``). ``fit``
crops to the aspect ratio (nothing distorted), scales within the pixel limits, re-encodes to an accepted
format and steps the quality (then the size) down until the bytes fit; every step is written down. The result
is checked with the same ``check_against_spec`` a video request runs, so a frame vidgate returns is one the
model accepts as ``--image first_frame=FILE``.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import Literal

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from vidgate.catalog import ModelSpec
from vidgate.errors import ValidationError
from vidgate.media import EXTENSION, LoadedImage, check_against_spec, fit_image
from vidgate.problems import Problem
from vidgate.types import AssistRecord, ImageInput, ImageRole

LONG_SIDE = 1280  # frames are made at 720p-class sizes unless the model asks for a size
# A size asked for a model whose catalog lists none: bounded by 4K UHD, the largest frame any catalog model makes
MAX_FRAME_SIDE = 3840
MAX_FRAME_PIXELS = 3840 * 2160
MAX_FRAME_RATIO = 4.0  # widest (and, inverted, tallest) frame shape where the model sets no limit; 21:9 is 2.33
# An image model's answer past this is refused before it is decoded (image models answer at most 4096x4096)
MAX_ANSWER_PIXELS = 4096 * 4096
_SIZE = re.compile(r"([1-9][0-9]{0,5})x([1-9][0-9]{0,5})")
QUALITIES = (90, 80, 70, 60, 50, 40)
_SAVE = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


class Frame(BaseModel):
    """An image ready for a video request: ``frame.image()`` or ``frame.save(path)`` then ``--image ROLE=PATH``."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    data: bytes = Field(repr=False)
    format: str
    width: int
    height: int
    role: ImageRole
    for_model: str = Field(description="Video catalog key it was fitted for")
    description: str
    answered_as: Literal["url", "base64"] = Field(description="How the image model's answer held the picture")
    changes: list[str] = Field(default_factory=list, description="What fitting changed, and why")
    chat_model: str = ""
    record: AssistRecord | None = None

    @property
    def mime_type(self) -> str:
        return f"image/{self.format}"

    def image(self) -> ImageInput:
        return ImageInput(source=self.data, role=self.role)

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix("." + EXTENSION.get(self.format, self.format))
        target.write_bytes(self.data)
        return target


def check_role(spec: ModelSpec, role: ImageRole) -> None:
    """Refused before any request: a model that takes no image, or not in this role."""
    if not spec.images.supported or role not in spec.images.roles:
        takers = (
            "image roles " + ", ".join(r.value for r in spec.images.roles) if spec.images.supported else "no images"
        )
        raise ValidationError(
            [
                Problem(
                    "role",
                    role.value,
                    f"{spec.key} takes {takers}",
                    allowed=", ".join(r.value for r in spec.images.roles) or "none",
                    suggestion="pick a role it takes, or a model with image-to-video (`vidgate models`)",
                )
            ],
            spec.key,
        )


def check_size(spec: ModelSpec, size: str | None) -> None:
    """Refused before any request: a frame size the model does not make, or one past its image limits."""
    if size is None:
        return
    allowed = ", ".join(spec.size.values)
    parsed = _parse_size(size)
    if parsed is None:
        raise ValidationError(
            [Problem("size", size, "not a size", allowed=allowed or '"WIDTHxHEIGHT", e.g. "1280x720"')], spec.key
        )
    w, h = parsed
    if spec.size.values:
        if f"{w}x{h}" not in spec.size.values:
            raise ValidationError(
                [Problem("size", size, f"{spec.key} does not make this size", allowed=allowed)], spec.key
            )
        return
    limits = spec.images
    max_pixels = min(MAX_FRAME_PIXELS, limits.max_pixels or MAX_FRAME_PIXELS)
    bounds = f"each side {limits.min_side or 1} to {MAX_FRAME_SIDE} pixels, at most {max_pixels:,} pixels"
    if limits.min_aspect or limits.max_aspect:
        bounds += f", width/height from {limits.min_aspect or 0} to {limits.max_aspect or 'any'}"
    problem = None
    if max(w, h) > MAX_FRAME_SIDE or w * h > max_pixels:
        problem = f"{w}x{h} ({w * h:,} pixels) is larger than a frame for {spec.key} may be"
    elif limits.min_side and min(w, h) < limits.min_side:
        problem = f"{spec.key} takes images of at least {limits.min_side} pixels a side"
    elif (limits.min_aspect and w / h < limits.min_aspect) or (limits.max_aspect and w / h > limits.max_aspect):
        problem = f"{spec.key} does not take images of this shape"
    if problem:
        hint = "pick a size within these bounds, or leave size out (the aspect ratio then decides)"
        raise ValidationError([Problem("size", size, problem, allowed=bounds, suggestion=hint)], spec.key)


def check_shape(spec: ModelSpec, aspect_ratio: str | None) -> None:
    """Refused before any request: an aspect ratio no frame should have (a sliver would be scaled up to the
    model's smallest side along its long edge: millions of pixels)."""
    if aspect_ratio is None:
        return
    ratio = _ratio(aspect_ratio)
    low, high = spec.images.min_aspect or 1 / MAX_FRAME_RATIO, spec.images.max_aspect or MAX_FRAME_RATIO
    if not low <= ratio <= high:
        raise ValidationError(
            [
                Problem(
                    "aspect_ratio",
                    aspect_ratio,
                    f"a frame for {spec.key} cannot have this shape",
                    allowed=f"width/height from {low:g} to {high:g}",
                )
            ],
            spec.key,
        )


def _parse_size(size: str | None) -> tuple[int, int] | None:
    m = _SIZE.fullmatch(size.strip().lower()) if size else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def target_size(
    spec: ModelSpec, width: int, height: int, aspect_ratio: str | None, size: str | None
) -> tuple[int, int]:
    """The frame's size: the exact size the model requires, else the aspect ratio at LONG_SIDE (or less)."""
    exact = _parse_size(size or (spec.size.default if spec.images.must_match_size else None))
    if exact is not None:
        return exact
    ratio_text = aspect_ratio or spec.aspect_ratio.default
    ratio = _ratio(ratio_text) if ratio_text else width / height
    long_side = float(min(LONG_SIDE, max(width, height)))
    w, h = (long_side, long_side / ratio) if ratio >= 1 else (long_side * ratio, long_side)
    if spec.images.max_pixels and w * h > spec.images.max_pixels:
        scale = (spec.images.max_pixels / (w * h)) ** 0.5
        w, h = w * scale, h * scale
    if spec.images.min_side and min(w, h) < spec.images.min_side:
        scale = spec.images.min_side / min(w, h)
        w, h = w * scale, h * scale
    return _even(w), _even(h)


def fit(
    data: bytes,
    spec: ModelSpec,
    *,
    role: ImageRole,
    aspect_ratio: str | None = None,
    size: str | None = None,
) -> tuple[bytes, str, int, int, list[str]]:
    """``data`` as the model takes it: bytes, format, width, height and the changes made."""
    check_size(spec, size)
    check_shape(spec, aspect_ratio)
    width, height, source_format = _header(data)
    try:
        return _fit(data, spec, width, height, source_format, role=role, aspect_ratio=aspect_ratio, size=size)
    except (MemoryError, Image.DecompressionBombError, UnidentifiedImageError, OSError):
        raise _unusable("it could not be decoded within vidgate's limits") from None


def _unusable(why: str) -> ValidationError:
    return ValidationError([Problem("image", "the image model's answer", f"not a usable image: {why}")])


def _header(data: bytes) -> tuple[int, int, str]:
    """Width, height and format from the image's header, refusing one too large to decode (nothing decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height, source_format = im.width, im.height, (im.format or "").lower()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _unusable(f"it is more than {MAX_ANSWER_PIXELS:,} pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _unusable("it is not an image") from None
    if width * height > MAX_ANSWER_PIXELS:
        raise _unusable(f"it is more than {MAX_ANSWER_PIXELS:,} pixels")
    return width, height, source_format


def _fit(
    data: bytes,
    spec: ModelSpec,
    width: int,
    height: int,
    source_format: str,
    *,
    role: ImageRole,
    aspect_ratio: str | None,
    size: str | None,
) -> tuple[bytes, str, int, int, list[str]]:
    changes: list[str] = []
    w, h = target_size(spec, width, height, aspect_ratio, size)
    if (w, h) != (width, height):
        data, _ = fit_image(data, w, h, "crop")
        changes.append(f"{width}x{height} cropped and scaled to {w}x{h} for {spec.key}")
    fmt = _format(source_format, spec)
    if fmt != source_format:
        changes.append(
            f"{source_format or 'image'} re-encoded as {fmt} ({spec.key} takes {', '.join(spec.images.formats)})"
        )
        data = _encode(data, fmt, QUALITIES[0])
    limit = spec.images.max_bytes
    if limit is not None and len(data) > limit:
        data, fmt, w, h = _shrink(data, fmt, w, h, limit, spec, changes)
    loaded = LoadedImage(0, "bytes", "frame", role, data=data, format=fmt, width=w, height=h)
    problems = [
        Problem(p.field, p.value, p.message, p.allowed, p.suggestion) for p in check_against_spec(loaded, spec.images)
    ]
    if problems:
        raise ValidationError(problems, spec.key)
    return data, fmt, w, h, changes


def _shrink(
    data: bytes, fmt: str, w: int, h: int, limit: int, spec: ModelSpec, changes: list[str]
) -> tuple[bytes, str, int, int]:
    start = len(data)
    lossy = next((f for f in ("jpeg", "webp") if f in spec.images.formats), None)
    if lossy is not None:
        for quality in QUALITIES:
            candidate = _encode(data, lossy, quality)
            if len(candidate) <= limit:
                changes.append(f"{start} bytes over the {limit}-byte limit: re-encoded as {lossy} at quality {quality}")
                return candidate, lossy, w, h
        data, fmt = _encode(data, lossy, QUALITIES[-1]), lossy
    while len(data) > limit and min(w, h) > 64:
        w, h = _even(w * 0.8), _even(h * 0.8)
        data, fmt = fit_image(data, w, h, "crop")
    changes.append(f"{start} bytes over the {limit}-byte limit: scaled down to {w}x{h} ({len(data)} bytes)")
    return data, fmt, w, h


def _format(source: str, spec: ModelSpec) -> str:
    allowed = [f for f in spec.images.formats if f in _SAVE]
    if source in allowed:
        return source
    return "png" if "png" in allowed else (allowed[0] if allowed else "png")


def _encode(data: bytes, fmt: str, quality: int) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        image = im.convert("RGB") if fmt == "jpeg" else im.copy()
    buf = io.BytesIO()
    image.save(buf, format=_SAVE[fmt], **({"quality": quality} if fmt in ("jpeg", "webp") else {}))
    return buf.getvalue()


def _ratio(text: str) -> float:
    a, _, b = text.partition(":")
    try:
        value = float(a) / float(b)
        if not value > 0 or value == float("inf"):
            raise ValueError(text)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise ValidationError([Problem("aspect_ratio", text, "not a ratio", allowed='"W:H", e.g. "16:9"')]) from None
    return value


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)
