"""The relay's other chat features, emulated (seed-relay-api.md "Other chat features of the same platform").

* ``POST /v1/chat/completions`` for the chat models below (``relay_chat`` hands these model names over):
  OpenAI's request fields and ``chat.completion`` answer; ``image_url`` parts (images; an mp4 URL is a
  video, accepted for Gemini models only, as the docs say); ``response_format: {"type": "json_schema", ...}``
  answered with JSON that follows the schema given; ``gpt-4o-image`` answers with a real PNG in the message
  content (a Markdown image linking ``/assist-images/{token}.png`` for a generation, a base64 data URI for an
  edit, the two shapes relays use).
* ``POST /v1beta/models/{model}:generateContent`` (Gemini native format): ``contents[].parts[]`` with
  ``text``, ``inlineData`` (base64) and ``fileData``; ``generationConfig`` with ``responseMimeType`` +
  ``responseSchema`` / ``responseJsonSchema`` and ``thinkingConfig {thinkingBudget, includeThoughts}``;
  Google's error envelope. The relay's Bearer key, ``x-goog-api-key`` and ``?key=`` are all accepted.

Every answer is deterministic: it is derived from a hash of the request. A request whose text contains the
emulator's fail trigger gets a negative answer (booleans false, one issue listed; the image model refuses in
words, with no picture), so a review or a frame can fail on purpose. Faults come from the fault plan like
every route's (``POST /v1/chat/completions``, ``POST /v1beta/models/{model}:generateContent``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import random
import re
import time
from typing import Any

from PIL import Image, ImageDraw
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.dialects._common import EmuHTTPError, bearer_ok, message_parts
from vidgate.emulator.dialects._google import GoogleError, bad, google_json, require_api_key, unknown_fields
from vidgate.emulator.state import EmulatorState

# The chat models this relay serves besides sora_video2 (seed: gemini-2.5-pro-preview-05-06 for video analysis,
# gpt-4o-image for images; the others are in the relay's model list, relay_account.CHAT_MODELS).
GEMINI = {"gemini-2.5-pro-preview-05-06", "gemini-2.5-pro"}
IMAGE_MODELS = {"gpt-4o-image"}
MODELS = GEMINI | IMAGE_MODELS | {"gpt-4o-mini"}
FIELDS = {
    "model", "messages", "stream", "stream_options", "temperature", "top_p", "n", "stop", "max_tokens",
    "presence_penalty", "frequency_penalty", "logit_bias", "user", "tools", "tool_choice", "response_format",
    "seed", "max_completion_tokens",
}  # fmt: skip
ROLES = {"system", "user", "assistant", "developer", "tool"}
VIDEO_SUFFIXES = (".mp4", ".mov", ".webm")
IMAGE_SIZE = (1024, 1024)  # gpt-4o-image's square default
GENERATION_CONFIG = {
    "temperature", "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences", "responseMimeType",
    "responseSchema", "responseJsonSchema", "thinkingConfig", "seed", "presencePenalty", "frequencyPenalty",
    "responseModalities", "responseLogprobs", "logprobs",
}  # fmt: skip
GENERATE_FIELDS = {"contents", "generationConfig", "systemInstruction", "safetySettings", "tools", "toolConfig",
                   "cachedContent", "labels"}  # fmt: skip
_WORD = re.compile(r"[\w@.'-]+", re.U)


# ---------------------------------------------------------------- answers that follow a schema


def fill(schema: Any, rng: random.Random, words: list[str], negative: bool) -> Any:
    """A value that satisfies ``schema`` (JSON Schema or Google's upper-case Schema), chosen by ``rng``."""
    if not isinstance(schema, dict):
        return None
    schema = camel(schema)  # google-genai writes min_items, max_items (proto JSON accepts both spellings)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][rng.randrange(len(schema["enum"]))]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    kind = str(kind or ("object" if "properties" in schema else "string")).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: fill(v, rng, words, negative) for k, v in props.items()}
    if kind == "array":
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 3))
        count = rng.randint(low, max(low, min(high, low + 3))) if low > 0 else (1 if negative and high else 0)
        return [fill(schema.get("items", {}), rng, words, negative) for _ in range(count)]
    if kind == "boolean":
        return not negative
    if kind in ("number", "integer"):
        least = float(schema.get("minimum", 0))
        most = float(schema.get("maximum", least + 10))
        value = rng.uniform(least, max(least, most))
        return int(value) if kind == "integer" else round(value, 1)
    if kind == "null":
        return None
    start = rng.randrange(max(1, len(words)))
    text = " ".join(words[start : start + 8]) or "emulated"
    max_length = schema.get("maxLength")
    return text[: int(max_length)] if isinstance(max_length, int) else text


def _rng(body: Any) -> random.Random:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _token(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:24]


def png(token: str, size: tuple[int, int] = IMAGE_SIZE) -> bytes:
    """A real PNG whose colours come from ``token`` (the same token always gives the same bytes)."""
    seed = bytes.fromhex(token[:12].ljust(12, "0"))
    image = Image.new("RGB", size, (seed[0], seed[1], seed[2]))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=(seed[3], seed[4], seed[5]))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


# ---------------------------------------------------------------- OpenAI chat


def _schema_of(body: dict[str, Any]) -> tuple[str, Any]:
    """("json_schema", schema) / ("json_object", None) / ("text", None) from response_format."""
    fmt = body.get("response_format")
    if fmt is None:
        return "text", None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise EmuHTTPError(400, "response_format.type must be text, json_object or json_schema", "invalid_param",
                           "response_format")  # fmt: skip
    if fmt["type"] != "json_schema":
        return fmt["type"], None
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("schema"), dict):
        raise EmuHTTPError(400, "response_format.json_schema needs a name and a schema object", "invalid_param",
                           "response_format")  # fmt: skip
    return "json_schema", spec["schema"]


async def completion(request: Request, body: dict[str, Any], state: EmulatorState) -> Response:
    """``POST /v1/chat/completions`` for a chat model (the caller counted and authenticated the request)."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise EmuHTTPError(400, f"unknown field(s) {unknown}", "invalid_param", unknown[0])
    model = body["model"]
    if body.get("stream"):
        raise EmuHTTPError(400, "the emulator answers chat models with stream=false only", "invalid_param", "stream")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise EmuHTTPError(400, "messages must be a non-empty array", "invalid_param", "messages")
    texts: list[str] = []
    urls: list[str] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ROLES or "content" not in msg:
            raise EmuHTTPError(400, f"messages[{i}] needs a role and content", "invalid_param", "messages")
        t, u = message_parts(msg["content"], f"messages[{i}].content")
        if msg["role"] == "user":
            texts += t
            urls += u
    videos = [u for u in urls if u.split("?", 1)[0].lower().endswith(VIDEO_SUFFIXES)]
    if videos and model not in GEMINI:
        raise EmuHTTPError(400, f"{model} cannot read video (video analysis: Gemini models only)", "invalid_param",
                           "messages")  # fmt: skip
    kind, schema = _schema_of(body)
    if kind == "json_schema" and model in IMAGE_MODELS:
        raise EmuHTTPError(400, f"{model} does not support response_format json_schema", "invalid_param",
                           "response_format")  # fmt: skip
    text = "\n".join(texts)
    negative = bool(state.config.fail_trigger) and state.config.fail_trigger.lower() in text.lower()
    rng = _rng(body)
    words = _WORD.findall(text)
    base = str(request.base_url).rstrip("/")
    if model in IMAGE_MODELS:
        token = _token(body)
        if negative:  # a policy refusal: text, no picture (the answer a relay gives for a refused image)
            content = "抱歉，该请求违反了内容政策，无法生成图片。(The request violates the content policy.)"
        elif urls:  # an edit: the picture inline, as base64
            data = base64.b64encode(png(token)).decode("ascii")
            content = f"![image](data:image/png;base64,{data})"
        else:
            content = f"![image]({base}/assist-images/{token}.png)\n\n[下载图片]({base}/assist-images/{token}.png)"
    elif kind == "json_schema":
        content = json.dumps(fill(schema, rng, words, negative), ensure_ascii=False)
    elif kind == "json_object":
        content = json.dumps({"answer": " ".join(words[:12])}, ensure_ascii=False)
    else:
        seen = f" I looked at {len(videos)} video(s) and {len(urls) - len(videos)} image(s)." if urls else ""
        content = f"(emulated {model}) {' '.join(words[:20])}.{seen}"
    return JSONResponse(
        {
            "id": "chatcmpl-" + _token(body),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": max(1, len(text) // 4),
                "completion_tokens": max(1, len(content) // 4),
                "total_tokens": max(1, len(text) // 4) + max(1, len(content) // 4),
            },
        }
    )


# ---------------------------------------------------------------- Gemini generateContent


def _g_parts(contents: Any) -> tuple[list[str], int, int]:
    """The texts, the number of videos and of images in ``contents``; a 400 for anything malformed."""
    if not isinstance(contents, list) or not contents:
        raise bad("* GenerateContentRequest.contents: contents is not specified")
    texts: list[str] = []
    videos = images = 0
    for i, content in enumerate(contents):
        if isinstance(content, str):  # the SDK turns strings into parts; raw REST callers must not
            raise bad(
                f"Invalid value at 'contents[{i}]' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)"
            )
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list) or not parts:
            raise bad(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.")
        unknown_fields(f"contents[{i}]", content, {"parts", "role"})
        for j, part in enumerate(parts):
            where = f"contents[{i}].parts[{j}]"
            if not isinstance(part, dict):
                raise bad(f"Invalid value at '{where}'")
            part = camel(part)
            inline = camel(part["inlineData"]) if isinstance(part.get("inlineData"), dict) else None
            file = camel(part["fileData"]) if isinstance(part.get("fileData"), dict) else None
            if isinstance(part.get("text"), str):
                if not part.get("thought"):
                    texts.append(part["text"])
            elif isinstance(inline, dict):
                mime = str(inline.get("mimeType", ""))
                data = _b64(inline.get("data"), f"{where}.inline_data.data")
                if mime.startswith("video/"):
                    if data[4:8] != b"ftyp":
                        raise bad(f"{where}.inline_data: the data is not a {mime} file")
                    videos += 1
                elif mime.startswith("image/"):
                    images += 1
                else:
                    raise bad(f"{where}.inline_data.mime_type {mime!r} is not supported")
            elif isinstance(file, dict):
                uri = file.get("fileUri")
                if not isinstance(uri, str) or not uri.startswith(("http://", "https://", "gs://")):
                    raise bad(f"{where}.file_data.file_uri must be a URL")
                mime = str(file.get("mimeType", ""))
                if mime.startswith("video/") or uri.split("?", 1)[0].lower().endswith(VIDEO_SUFFIXES):
                    videos += 1
                else:
                    images += 1
            else:
                raise bad(f"{where}: a part needs text, inline_data or file_data")
    return texts, videos, images


def _b64(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise bad(f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed")
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value else None)
    except (binascii.Error, ValueError):
        raise bad(f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed") from None


def camel(fields: dict[str, Any]) -> dict[str, Any]:
    """Field names as proto JSON reads them: ``thinking_budget`` and ``thinkingBudget`` are the same field
    (google-genai itself sends ``thinkingConfig: {include_thoughts, thinking_budget}``). One level only: the
    property names inside a schema are the caller's own."""
    return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): v for k, v in fields.items()}


def _thinking(config: dict[str, Any]) -> bool:
    thinking = config.get("thinkingConfig")
    if thinking is None:
        return False
    if not isinstance(thinking, dict):
        raise bad("generationConfig.thinkingConfig must be an object")
    thinking = camel(thinking)
    unknown_fields("generationConfig.thinkingConfig", thinking, {"thinkingBudget", "includeThoughts", "thinkingLevel"})
    budget = thinking.get("thinkingBudget")
    if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool) or budget < -1):
        raise bad("generationConfig.thinkingConfig.thinkingBudget must be an integer >= -1 (-1: dynamic)")
    include = thinking.get("includeThoughts", False)
    if not isinstance(include, bool):
        raise bad("generationConfig.thinkingConfig.includeThoughts must be a boolean")
    return include


async def generate_content(request: Request, state: EmulatorState) -> JSONResponse:
    state.count("POST /v1beta/models/{model}:generateContent")
    if not bearer_ok(request, state):  # the relay's own key; Google's x-goog-api-key or ?key= otherwise
        require_api_key(request, state)
    model = request.path_params["model"].removeprefix("models/")
    if model not in GEMINI:
        raise GoogleError(404, f"models/{model} is not found for API version v1beta, or is not supported for "
                          "generateContent. Call ListModels to see the list of available models.")  # fmt: skip
    body = camel(await google_json(request))
    unknown_fields("", body, GENERATE_FIELDS)
    texts, videos, images = _g_parts(body.get("contents"))
    config = body.get("generationConfig") or {}
    if not isinstance(config, dict):
        raise bad("generationConfig must be an object")
    config = camel(config)
    unknown_fields("generationConfig", config, GENERATION_CONFIG)
    include_thoughts = _thinking(config)
    schema = config.get("responseJsonSchema", config.get("responseSchema"))
    mime = config.get("responseMimeType", "text/plain")
    if schema is not None and mime != "application/json":
        raise bad("responseSchema needs responseMimeType application/json")
    text = "\n".join(texts)
    negative = bool(state.config.fail_trigger) and state.config.fail_trigger.lower() in text.lower()
    rng = _rng(body)
    words = _WORD.findall(text)
    if schema is not None:
        answer = json.dumps(fill(schema, rng, words, negative), ensure_ascii=False)
    elif mime == "application/json":
        answer = json.dumps({"answer": " ".join(words[:12])}, ensure_ascii=False)
    else:
        answer = f"(emulated {model}) {' '.join(words[:20])}. Videos: {videos}, images: {images}."
    parts: list[dict[str, Any]] = []
    if include_thoughts:
        parts.append({"text": "**Reading the request**\nChecking what was asked.", "thought": True})
    parts.append({"text": answer})
    prompt_tokens = max(1, len(text) // 4) + 258 * (videos + images)
    return JSONResponse(
        {
            "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": max(1, len(answer) // 4),
                "thoughtsTokenCount": 12,
                "totalTokenCount": prompt_tokens + max(1, len(answer) // 4) + 12,
            },
            "modelVersion": model,
            "responseId": _token(body),
        }
    )


def routes(state: EmulatorState) -> list[Route]:
    async def native(request: Request) -> JSONResponse:
        return await generate_content(request, state)

    async def image(request: Request) -> Response:
        state.count("GET /assist-images/{token}.png")
        token = request.path_params["token"]
        if not re.fullmatch(r"[0-9a-f]{24}", token):
            return Response("not found\n", status_code=404, media_type="text/plain")
        return Response(png(token), media_type="image/png")

    return [
        Route("/v1beta/models/{model}:generateContent", native, methods=["POST"]),
        Route("/v1/models/{model}:generateContent", native, methods=["POST"]),
        Route("/assist-images/{token}.png", image, methods=["GET"]),
    ]


__all__ = ["GoogleError", "completion", "fill", "generate_content", "png", "routes"]
