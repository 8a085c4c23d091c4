"""Request bodies: the OpenAI create (JSON or multipart) and the relay's ``/v2`` create, as ``VideoRequest``s.

Both are read strictly (unknown fields refused, types checked) and turned into one ``VideoRequest`` that the
catalog then checks against the model. OpenAI's ``size`` ("1280x720") becomes the model's own parameter:
``size`` where the model takes sizes, otherwise the exact aspect ratio (and resolution) it names.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from vidgate.catalog import ModelSpec
from vidgate.problems import problems_of, show_value
from vidgate.server.errors import APIError
from vidgate.server.middleware import BodyTooLarge
from vidgate.types import ImageInput, ImageRole, VideoRequest

_FORBID = ConfigDict(extra="forbid")
MAX_IMAGES = 16  # more than any model takes (the catalog's own limits are checked later, with the model)
# Schemas nested in request bodies, added to the OpenAPI document's components by ``create_app``.
COMPONENTS: dict[str, dict[str, Any]] = {}


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema for an OpenAPI request body, its nested models moved to the components."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    COMPONENTS.update(schema.pop("$defs", {}))
    return schema


class InputReference(BaseModel):
    model_config = _FORBID

    image_url: str | None = Field(None, description="An https URL or a data: URI of the first-frame image")
    file_id: str | None = Field(None, description="Not supported by this gateway (upload the file instead)")


class OpenAICreate(BaseModel):
    """``POST /v1/videos`` as JSON (multipart carries the same fields; ``input_reference`` may be a file)."""

    model_config = _FORBID

    prompt: str = Field(description="What the video shows", max_length=1_000_000)
    model: str = Field("sora-2", description="A catalog model (GET /v1/models); bare ids go to the first route")
    seconds: str | int | float | None = Field(None, description="Clip length in seconds")
    size: str | None = Field(None, description='"WIDTHxHEIGHT"; models without sizes get the ratio it names')
    input_reference: InputReference | str | None = Field(None, description="First-frame image (URL or data URI)")
    aspect_ratio: str | None = Field(None, description='vidgate extension, e.g. "16:9"')
    resolution: str | None = Field(None, description='vidgate extension, e.g. "720p"')
    hd: bool | None = Field(None, description="vidgate extension")
    images: list[str] = Field(
        default_factory=list, max_length=MAX_IMAGES, description="vidgate extension: image URLs or data URIs"
    )
    image_roles: list[ImageRole] = Field(
        default_factory=list,
        description="vidgate extension: each image's role, in order (input_reference first, then images); "
        "omitted = the model's default roles",
    )
    characters: list[str] = Field(default_factory=list, description="vidgate extension: character usernames")
    options: dict[str, Any] = Field(default_factory=dict, description="vidgate extension: per-provider options")
    callback_url: str | None = Field(None, description="vidgate extension: webhook for this video (Standard Webhooks)")


class OpenAIRemix(BaseModel):
    model_config = _FORBID

    prompt: str = Field(min_length=1, max_length=1_000_000)


class RelayCreate(BaseModel):
    """The relay's unified ``POST /v2/videos/generations`` body (its field names)."""

    model_config = _FORBID

    prompt: str = Field(max_length=1_000_000)
    model: str
    images: list[str] = Field(default_factory=list, max_length=MAX_IMAGES, description="URLs or base64 / data URIs")
    aspect_ratio: str | None = None
    hd: bool | None = None
    duration: str | int | float | None = Field(None, description='Seconds, e.g. "10"')
    notify_hook: str | None = Field(None, description="Callback URL (signed Standard Webhook from this gateway)")
    watermark: bool | None = None
    private: bool | None = None
    character_url: str | None = None
    character_timestamps: str | None = None
    enhance_prompt: bool | None = Field(
        None, description="Veo: translate/enhance the prompt (Veo is English-only); sent where the model takes it"
    )
    enable_upsample: bool | None = Field(None, description="Veo: a 1080p video; sent where the model takes it")
    resolution: str | None = Field(None, description="vidgate extension")
    size: str | None = Field(None, description="vidgate extension")


class CharacterCreate(BaseModel):
    model_config = _FORBID

    timestamps: str = Field(description='"start,end" seconds where the character appears (1 to 3 s)')
    url: str | None = Field(None, description="A video URL showing the character")
    from_task: str | None = Field(None, description="A finished video id of this API key")
    name: str | None = Field(None, max_length=80)
    model: str | None = Field(None, description="The model whose provider makes the character")


def _problems(exc: PydanticValidationError, prefix: str = "") -> APIError:
    problems: list[dict[str, Any]] = []
    for p in problems_of(exc):
        param = prefix + p.field if p.field != "request" else (prefix.rstrip(".") or None)
        problems.append({"param": param, "message": f"{param}: {p.message} (got {show_value(p.value)})"})
    message = "; ".join(str(p["message"]) for p in problems)
    return APIError(400, message, param=problems[0]["param"], code="invalid_value", problems=problems)


def parse_model(cls: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        raise APIError(400, "The request body must be a JSON object.", code="invalid_json")
    try:
        return cls.model_validate(data)
    except PydanticValidationError as exc:
        raise _problems(exc) from None


async def read_body(request: Request, *, allow_multipart: bool = True) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(fields, uploaded files). JSON, or multipart/form-data (repeated fields become lists)."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data") and allow_multipart:
        try:
            form = await request.form()
        except BodyTooLarge:
            raise
        except Exception as exc:  # a malformed multipart body
            raise APIError(400, f"The multipart body cannot be read: {exc}", code="invalid_body") from None
        fields: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = await value.read()
                continue
            if key.startswith("input_reference[") and key.endswith("]"):  # the SDK's encoding of the object
                fields.setdefault("input_reference", {})[key[len("input_reference[") : -1]] = value
            elif key in ("images", "images[]", "characters", "characters[]", "image_roles", "image_roles[]"):
                fields.setdefault(key.removesuffix("[]"), []).append(value)
            elif key in fields:
                raise APIError(400, f"Duplicate parameter: '{key}'.", param=key, code="invalid_value")
            else:
                fields[key] = value
        return fields, files
    media = ctype.split(";", 1)[0].strip().lower()
    if media in ("application/json", "") or (media.startswith("application/") and media.endswith("+json")):
        raw = await request.body()
        if not raw.strip():
            raise APIError(400, "The request body is empty; send a JSON object.", code="invalid_json")
        data = load_json(raw)
        if not isinstance(data, dict):
            raise APIError(400, "The request body must be a JSON object.", code="invalid_json")
        return data, {}
    allowed = "application/json or multipart/form-data" if allow_multipart else "application/json"
    raise APIError(415, f"Unsupported content type {ctype!r}: send {allowed}.", code="unsupported_content_type")


MAX_DEPTH = 32  # objects and arrays nested deeper than this are refused (no body of this API nests past 4)


def load_json(raw: bytes | str, param: str | None = None) -> Any:
    """Parse a JSON body or field; too deep a nesting is a 400 naming the limit, never a crash."""
    try:
        data = json.loads(raw)
    except RecursionError:
        data = None
        depth = MAX_DEPTH + 1
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(400, f"The request body is not valid JSON: {exc}", param=param, code="invalid_json") from None
    else:
        depth = _depth(data)
    if depth > MAX_DEPTH:
        raise APIError(
            400,
            f"The JSON is nested more than {MAX_DEPTH} levels deep; this API never needs more than a few.",
            param=param,
            code="invalid_json",
        )
    return data


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: a hostile document cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _bool(value: Any, name: str) -> Any:
    if isinstance(value, str):
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise APIError(
            400, f"Invalid value for '{name}': {value!r}; expected true or false.", param=name, code="invalid_type"
        )
    return value


def seconds_value(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    text = str(value).strip().removesuffix("s")
    try:
        seconds = float(text)
    except ValueError:
        raise APIError(
            400,
            f"Invalid value for '{name}': {value!r}; expected a number of seconds such as \"8\".",
            param=name,
            code="invalid_value",
        ) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise APIError(
            400,
            f"Invalid value for '{name}': {value!r}; expected a positive number of seconds.",
            param=name,
            code="invalid_value",
        )
    return seconds


def check_prompt(prompt: str, limit: int) -> None:
    if len(prompt) > limit:
        raise APIError(
            400,
            f"The prompt has {len(prompt)} characters; this gateway accepts at most {limit}. Shorten it.",
            param="prompt",
            code="prompt_too_long",
        )


def size_fields(size: str, spec: ModelSpec) -> dict[str, Any]:
    """OpenAI's ``size`` in the model's own terms (never approximated: a ratio the model lacks is refused)."""
    if spec.size.supported or not (spec.aspect_ratio.supported or spec.resolution.supported):
        return {"size": size}
    try:
        w, h = (int(x) for x in size.lower().split("x"))
        if w <= 0 or h <= 0:
            raise ValueError
    except ValueError:
        raise APIError(
            400,
            f"Invalid value for 'size': {size!r}; expected WIDTHxHEIGHT such as 1280x720.",
            param="size",
            code="invalid_value",
        ) from None
    out: dict[str, Any] = {}
    if spec.aspect_ratio.supported:
        g = math.gcd(w, h)
        out["aspect_ratio"] = f"{w // g}:{h // g}"
    res = f"{min(w, h)}p"
    if spec.resolution.supported and res in spec.resolution.values:
        out["resolution"] = res
    return out


def openai_request(
    fields: dict[str, Any], files: dict[str, bytes], spec_of: Any, max_prompt: int
) -> tuple[VideoRequest, str | None]:
    """The ``VideoRequest`` (and per-request callback URL) for an OpenAI create body."""
    upload = files.pop("input_reference", None)
    if files:
        name = next(iter(files))
        raise APIError(
            400,
            f"Unexpected file field '{name}': only input_reference takes a file.",
            param=name,
            code="unknown_parameter",
        )
    if "hd" in fields:
        fields["hd"] = _bool(fields["hd"], "hd")
    if isinstance(fields.get("options"), str):
        fields["options"] = load_json(fields["options"], "options")
    body: OpenAICreate = parse_model(OpenAICreate, fields)
    check_prompt(body.prompt, max_prompt)
    spec: ModelSpec = spec_of(body.model)
    images: list[ImageInput] = [ImageInput(source=s) for s in body.images]
    ref = body.input_reference
    if upload is not None:
        if ref is not None:
            raise APIError(
                400,
                "input_reference was given twice (a file and a value).",
                param="input_reference",
                code="invalid_value",
            )
        images.insert(0, ImageInput(source=upload))
    elif isinstance(ref, InputReference):
        if ref.file_id is not None or not ref.image_url:
            raise APIError(
                400,
                "input_reference.file_id is not supported by this gateway: upload the image as a "
                "file or give input_reference.image_url.",
                param="input_reference.file_id",
                code="unsupported_parameter",
            )
        images.insert(0, ImageInput(source=ref.image_url))
    elif isinstance(ref, str) and ref:
        images.insert(0, ImageInput(source=ref))
    if body.image_roles:
        if len(body.image_roles) != len(images):
            raise APIError(400, f"image_roles has {len(body.image_roles)} entries for {len(images)} images; give "
                           "one role per image (input_reference first, then images) or none.", param="image_roles",
                           code="invalid_value")  # fmt: skip
        images = [ImageInput(source=i.source, role=r) for i, r in zip(images, body.image_roles, strict=True)]
    extra: dict[str, Any] = {}
    if body.size:
        extra.update(size_fields(body.size, spec))
    for name in ("aspect_ratio", "resolution"):
        value = getattr(body, name)
        if value is not None:
            extra[name] = value
    request = VideoRequest(
        prompt=body.prompt,
        model=spec.key,
        duration=seconds_value(body.seconds, "seconds"),
        hd=body.hd,
        images=images,
        characters=body.characters,
        options=body.options,
        **extra,
    )
    return request, body.callback_url


def relay_request(data: dict[str, Any], spec_of: Any, max_prompt: int) -> tuple[VideoRequest, str | None]:
    body: RelayCreate = parse_model(RelayCreate, data)
    check_prompt(body.prompt, max_prompt)
    spec: ModelSpec = spec_of(body.model)
    options = {k: getattr(body, k) for k in ("watermark", "private", "character_url", "character_timestamps")}
    options.update(veo_flags(body, spec))
    request = VideoRequest(
        prompt=body.prompt,
        model=spec.key,
        duration=seconds_value(body.duration, "duration"),
        aspect_ratio=body.aspect_ratio,
        resolution=body.resolution,
        size=body.size,
        hd=body.hd,
        images=[ImageInput(source=s) for s in body.images],
        options={k: v for k, v in options.items() if v is not None},
    )
    return request, body.notify_hook


VEO_FLAGS = ("enhance_prompt", "enable_upsample")


def veo_flags(body: RelayCreate, spec: ModelSpec) -> dict[str, bool]:
    """The relay's Veo flags (relay-platforms.md §4), passed on where ``spec`` takes them as options. ``false`` is
    the relay's default and is dropped for other models (apps send it routinely); ``true`` there is refused."""
    flags: dict[str, bool] = {}
    for name in VEO_FLAGS:
        value = getattr(body, name)
        if value is None:
            continue
        if name in spec.options:
            flags[name] = value
        elif value:
            able = "a relay Veo model (e.g. veo3)" if name == "enable_upsample" else "a Veo model"
            raise APIError(
                400,
                f"{name}=true is a Veo option, and {spec.key} does not take it (its options: "
                f"{', '.join(spec.options) or 'none'}). Drop {name}, or pick {able}.",
                param=name,
                code="unsupported_parameter",
            )
    return flags


Variant = Literal["video", "thumbnail", "spritesheet"]
