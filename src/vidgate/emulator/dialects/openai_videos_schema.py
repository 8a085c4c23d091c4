"""OpenAI-format videos (``/v1/videos``), emulated in two flavours on one server.

- **OpenAI** (api.openai.com) under the path prefix ``/openai``: ``POST /openai/v1/videos`` ... Schema from
  the OpenAPI spec and the official SDK (core-providers.md §1): model optional (default sora-2), prompt
  1..32000, seconds a *string* "4" | "8" | "12", size per model, one ``input_reference`` that must be an
  image of exactly ``size`` ("Inpaint image must match the requested width and height"), a string in the
  multipart file field refused ("Invalid type for 'input_reference': expected a file, but got a string
  instead."), unknown parameters refused, OpenAI error shapes, ``openai-poll-after-ms`` while running.
- **Relay** (the Shenma-family copy, seed-relay-api.md) at the root: ``POST /v1/videos`` ... with the
  relay's drift: ids ``sora-2:task_...``, ``created_at`` in milliseconds, ``size: "small"``, ``video_url`` /
  ``url`` on the object (a CDN link), the "reverse group" seconds 10 / 15 / 25 (25 sora-2-pro only; an
  omitted ``seconds`` means the official default 4, which this group does not make), the extra fields
  ``watermark``, ``private``, ``character_url``, ``character_timestamps``, and no remix of a private video.
  The relay states no size-match rule for ``input_reference``, so this flavour does not enforce OpenAI's.

Both take multipart/form-data and JSON (``input_reference: {"image_url" | "file_id"}``; the official SDK
sends that object inside multipart as ``input_reference[image_url]``). The checks are written from the
documents, independently of ``vidgate.catalog.validate``, so the two can disagree.
"""

from __future__ import annotations

import base64
import binascii
import io
import secrets
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse

from vidgate.emulator.dialects._common import EmuHTTPError, bearer_ok, json_object
from vidgate.emulator.facts import RELAY_V1_IMAGE_MUST_MATCH_SIZE, RELAY_V1_SECONDS, RELAY_V1_SIZES
from vidgate.emulator.state import EmulatorState

DIALECT = "openai-videos"
OPENAI_PREFIX = "/openai"
PROMPT_MAX = 32000
INPAINT_MISMATCH = "Inpaint image must match the requested width and height"
PRIVATE_REMIX = "This video is private and cannot be remixed (it was created with private=true)."
GUARDRAIL_FAILURE = "This content may violate our guardrails concerning similarity to third-party content."
SMALL = ("1280x720", "720x1280")
LARGE = ("1280x720", "720x1280", "1792x1024", "1024x1792")
VARIANTS = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}
RELAY_EXTRAS = ("watermark", "private", "character_url", "character_timestamps")


@dataclass(frozen=True)
class Flavour:
    name: str
    prefix: str
    provider: str  # the provider this flavour stands for (a label)
    seconds: dict[str, tuple[str, ...]]
    sizes: dict[str, tuple[str, ...]]
    default_model: str | None  # None = model is required
    default_seconds: str
    extras: tuple[str, ...]
    image_must_match: bool = True  # input_reference must be exactly `size` (OpenAI's documented rule)


OPENAI = Flavour(
    name="openai",
    prefix=OPENAI_PREFIX,
    provider="openai",
    seconds={
        m: ("4", "8", "12")
        for m in ("sora-2", "sora-2-pro", "sora-2-2025-10-06", "sora-2-pro-2025-10-06", "sora-2-2025-12-08")
    },
    sizes={
        "sora-2": SMALL,
        "sora-2-2025-10-06": SMALL,
        "sora-2-2025-12-08": SMALL,
        "sora-2-pro": LARGE,
        "sora-2-pro-2025-10-06": LARGE,
    },
    default_model="sora-2",
    default_seconds="4",
    extras=(),
)
RELAY = Flavour(
    name="relay",
    prefix="",
    provider="relay-openai",
    seconds=RELAY_V1_SECONDS,
    sizes=RELAY_V1_SIZES,
    default_model=None,
    default_seconds="4",  # the official group's default, which the reverse group does not make
    extras=RELAY_EXTRAS,
    image_must_match=RELAY_V1_IMAGE_MUST_MATCH_SIZE,  # the relay states no such rule (facts.RELAY_V1_SRC)
)


class OpenAIError(EmuHTTPError):
    """OpenAI's error body: {"error": {"message", "type", "param", "code"}} with a nullable code."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(status, message, code or "", param)
        self.error_code = code
        self.kind = kind

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.error_code}}
        return JSONResponse(body, status_code=self.status, headers={"x-request-id": request_id()})


def request_id() -> str:
    return "req_" + secrets.token_hex(16)


def quote_list(values: tuple[str, ...] | list[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return (
        quoted[0]
        if len(quoted) == 1
        else ", ".join(quoted[:-1]) + (", and " if len(quoted) > 2 else " and ") + quoted[-1]
    )


def auth(request: Request, state: EmulatorState) -> None:
    if not request.headers.get("authorization"):
        raise OpenAIError(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using "
            "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if not bearer_ok(request, state):
        raise OpenAIError(401, "Incorrect API key provided.", "invalid_api_key")


# ---------------------------------------------------------------- reading the create body


async def read_body(request: Request) -> tuple[dict[str, Any], bool]:
    """The fields of a multipart or JSON body, and whether it was multipart (files stay UploadFile)."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        body: dict[str, Any] = {}
        for key, value in form.multi_items():
            if key.startswith("input_reference[") and key.endswith("]"):  # the SDK's encoding of the object
                ref = body.setdefault("input_reference", {})
                if not isinstance(ref, dict):
                    raise OpenAIError(400, "input_reference was given twice.", "invalid_value", "input_reference")
                ref[key[len("input_reference[") : -1]] = value
            elif key in body:
                raise OpenAIError(400, f"Duplicate parameter: '{key}'.", "invalid_value", key)
            else:
                body[key] = value
        return body, True
    if "application/json" in ctype:
        return await json_object(request), False
    raise OpenAIError(
        400,
        f"Unsupported content type {ctype or '(none)'!r}: send multipart/form-data or application/json.",
        "unsupported_content_type",
    )


def text_field(body: dict[str, Any], name: str, multipart: bool) -> str | None:
    if name not in body:
        return None
    value = body[name]
    if isinstance(value, UploadFile):
        raise OpenAIError(
            400, f"Invalid type for '{name}': expected a string, but got a file instead.", "invalid_type", name
        )
    if not isinstance(value, str):
        got = "an integer" if isinstance(value, int) and not isinstance(value, bool) else type(value).__name__
        raise OpenAIError(
            400, f"Invalid type for '{name}': expected a string, but got {got} instead.", "invalid_type", name
        )
    return value


def bool_field(body: dict[str, Any], name: str, multipart: bool) -> bool | None:
    if name not in body:
        return None
    value = body[name]
    if multipart and isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    if not multipart and isinstance(value, bool):
        return value
    raise OpenAIError(400, f"Invalid value for '{name}': expected a boolean (true or false).", "invalid_type", name)


async def image_bytes(ref: Any, multipart: bool) -> bytes | None:
    """The reference image's bytes (None for a remote URL the emulator cannot fetch)."""
    if isinstance(ref, UploadFile):
        return await ref.read()
    if isinstance(ref, str):
        if multipart:
            raise OpenAIError(
                400,
                "Invalid type for 'input_reference': expected a file, but got a string instead.",
                "invalid_type",
                "input_reference",
            )
        raise OpenAIError(
            400,
            "Invalid type for 'input_reference': expected an object with image_url or file_id, but got a string "
            "instead.",
            "invalid_type",
            "input_reference",
        )
    if not isinstance(ref, dict) or set(ref) - {"image_url", "file_id"}:
        raise OpenAIError(
            400, "Invalid 'input_reference': expected a file or an object.", "invalid_type", "input_reference"
        )
    if ("image_url" in ref) == ("file_id" in ref):
        raise OpenAIError(
            400,
            "Provide exactly one of 'image_url' or 'file_id' in 'input_reference'.",
            "invalid_value",
            "input_reference",
        )
    if "file_id" in ref:
        raise OpenAIError(400, f"No such File object: {ref['file_id']}", "invalid_value", "input_reference.file_id")
    url = ref["image_url"]
    if not isinstance(url, str) or len(url) > 20971520:
        raise OpenAIError(400, "Invalid 'input_reference.image_url'.", "invalid_value", "input_reference.image_url")
    if url.startswith(("http://", "https://")):
        return None
    head, sep, payload = url.partition(",")
    if not (url.startswith("data:image/") and sep and head.endswith(";base64")):
        raise OpenAIError(
            400,
            "Invalid 'input_reference.image_url': expected a URL or a base64 data URL.",
            "invalid_value",
            "input_reference.image_url",
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise OpenAIError(
            400, "Invalid base64 in 'input_reference.image_url'.", "invalid_value", "input_reference.image_url"
        ) from None


def image_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, size = im.format, im.size
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        fmt, size = None, (0, 0)
    if fmt not in IMAGE_FORMATS:
        raise OpenAIError(
            400,
            "Invalid file format for 'input_reference'. Supported formats are image/jpeg, image/png and image/webp.",
            "invalid_value",
            "input_reference",
        )
    return size


async def check_create(body: dict[str, Any], multipart: bool, flavour: Flavour) -> dict[str, Any]:
    """The validated create parameters (as the emulator keeps them), or the provider's 400."""
    known = {"model", "prompt", "seconds", "size", "input_reference", *flavour.extras}
    for name in body:
        if name not in known:
            raise OpenAIError(400, f"Unknown parameter: '{name}'.", "unknown_parameter", name)
    model = text_field(body, "model", multipart) or flavour.default_model
    if model is None:
        raise OpenAIError(400, "Missing required parameter: 'model'.", "missing_required_parameter", "model")
    if model not in flavour.seconds:
        raise OpenAIError(
            400,
            f"Invalid value: '{model}'. Supported values are: {quote_list(list(flavour.seconds))}.",
            "invalid_value",
            "model",
        )
    prompt = text_field(body, "prompt", multipart)
    if prompt is None:
        raise OpenAIError(400, "Missing required parameter: 'prompt'.", "missing_required_parameter", "prompt")
    if not 1 <= len(prompt) <= PROMPT_MAX:
        detail = (
            "too short. Expected a string with minimum length 1"
            if not prompt
            else "too long. Expected a string with maximum length 32000"
        )
        raise OpenAIError(
            400, f"Invalid 'prompt': string {detail}, but got a string with length {len(prompt)} instead.",
            "string_above_max_length" if prompt else "string_below_min_length", "prompt",
        )  # fmt: skip
    seconds = text_field(body, "seconds", multipart) or flavour.default_seconds
    allowed_seconds = flavour.seconds[model]
    if seconds not in allowed_seconds:
        raise OpenAIError(
            400,
            f"Invalid value: '{seconds}'. Supported values are: {quote_list(allowed_seconds)}.",
            "invalid_value",
            "seconds",
        )
    size = text_field(body, "size", multipart) or "720x1280"
    if size not in flavour.sizes[model]:
        raise OpenAIError(
            400,
            f"Invalid value: '{size}'. Supported values for {model} are: {quote_list(flavour.sizes[model])}.",
            "invalid_value",
            "size",
        )
    params: dict[str, Any] = {"model": model, "prompt": prompt, "seconds": seconds, "size": size}
    if "input_reference" in body:
        data = await image_bytes(body["input_reference"], multipart)
        if data is not None:
            width, height = image_size(data)
            if flavour.image_must_match and f"{width}x{height}" != size:
                raise OpenAIError(400, INPAINT_MISMATCH)  # the observed shape: param and code null
            params["input_reference"] = f"{width}x{height}"
        else:
            params["input_reference"] = "url"
    for name in ("watermark", "private"):
        if name in flavour.extras:
            value = bool_field(body, name, multipart)
            if value is not None:
                params[name] = value
    if "character_url" in body:
        url = text_field(body, "character_url", multipart) or ""
        if not url.startswith(("http://", "https://")):
            raise OpenAIError(400, "character_url must be an http(s) URL of a video.", "invalid_value", "character_url")
        params["character_url"] = url
    if "character_timestamps" in body:
        params["character_timestamps"] = check_timestamps(text_field(body, "character_timestamps", multipart) or "")
    return params


def check_timestamps(value: str) -> str:
    try:
        start, end = (float(x) for x in value.split(","))
    except ValueError:
        raise OpenAIError(
            400, 'character_timestamps must be "start,end" in seconds.', "invalid_value", "character_timestamps"
        ) from None
    if start < 0 or not 1 <= end - start <= 3:
        raise OpenAIError(
            400, "character_timestamps must span 1 to 3 seconds.", "invalid_value", "character_timestamps"
        )
    return value
