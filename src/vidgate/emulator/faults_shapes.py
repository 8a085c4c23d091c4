"""Error bodies for injected faults, in the shape of the dialect that owns the path.

``auto`` picks the shape from the request path (``SHAPE_PREFIXES``; media files get plain text as a CDN
would answer); a dialect whose paths are not covered can call ``register_shape_prefix`` at import time.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from vidgate.emulator.fault_plan import Shape

# Path prefix -> error shape, first match wins. Everything else speaks the OpenAI-style envelope the relay uses.
SHAPE_PREFIXES: list[tuple[str, Shape]] = [
    ("/api/paas/", "zhipu"),  # BigModel / Z.ai: {"error": {"code": "1302", "message": ...}}
    ("/paas/", "zhipu"),
    ("/cogvideox/", "zhipu"),  # the relay's Zhipu pass-through
    ("/v1beta/", "google"),  # Gemini API: {"error": {"code": 429, "message", "status": "RESOURCE_EXHAUSTED"}}
    ("/v1beta1/", "google"),
    ("/upload/v1beta/", "google"),
    ("/download/v1beta/", "google"),
    ("/v1/projects/", "google"),  # Vertex AI
    ("/v1/predictions", "replicate"),  # Replicate: {"title", "detail", "status"} (problem+json)
    ("/v1/webhooks/", "replicate"),
    ("/api/v1/videos", "openrouter"),  # OpenRouter: {"error": {"code": 429, "message", "metadata"}, "user_id"}
    ("/fal-ai/", "fal"),  # fal queue: {"detail": "...", "error_type": "..."}
    ("/bytedance/", "fal"),
    ("/blackforestlabs/", "fal"),
]
MEDIA_SUFFIXES = (".mp4", ".mov", ".webm", ".jpg", ".jpeg", ".png", ".webp", ".gif")

GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
    502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}  # fmt: skip
# Zhipu business codes (core-providers.md §3.4): 1302 concurrency/rate limit, 1305 traffic limit / overloaded.
ZHIPU_CODE = {429: "1302", 503: "1305"}
# DashScope codes for injected faults (providers-2026.md §7 names the envelope; these names are [MEMORY]).
DASHSCOPE_CODE = {429: "Throttling.RateQuota", 500: "InternalError", 503: "ServiceUnavailable"}
# MiniMax base_resp codes (providers-2026.md §6, more-providers.md §2): 1002 rate limit, 1004 auth, 1000/1033 server.
MINIMAX_CODE = {401: 1004, 403: 1004, 429: 1002, 500: 1000, 502: 1033, 503: 1033, 504: 1001}
# Kling service codes (providers-2026.md §4): 1303 concurrency over the resource pack, 500x server side.
KLING_CODE = {400: 1200, 401: 1002, 403: 1103, 404: 1203, 429: 1303, 500: 5000, 503: 5001, 504: 5002}
# fal's infrastructure error types (providers-2026.md §2 Errors); 429 and 500 are not named there: chosen here.
FAL_ERROR_TYPE = {503: "runner_scheduling_failure", 504: "request_timeout", 429: "rate_limited", 500: "internal_error"}

DEFAULT_MESSAGES = {
    429: "Rate limit reached for requests (emulated fault); wait for Retry-After and try again",
    500: "The server had an error while processing your request (emulated fault); try again",
    502: "Bad gateway: the upstream did not answer (emulated fault); try again",
    503: "The service is temporarily overloaded (emulated fault); try again later",
    504: "Gateway timeout (emulated fault); try again",
}


def register_shape_prefix(prefix: str, shape: Shape) -> None:
    """Make ``auto`` use ``shape`` for paths under ``prefix`` (checked before the built-in prefixes)."""
    SHAPE_PREFIXES.insert(0, (prefix, shape))


def shape_for(path: str) -> Shape:
    if path.lower().endswith(MEDIA_SUFFIXES):
        return "text"
    return next((shape for prefix, shape in SHAPE_PREFIXES if path.startswith(prefix)), "openai")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def default_message(status: int) -> str:
    if status in DEFAULT_MESSAGES:
        return DEFAULT_MESSAGES[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return f"{phrase} (emulated fault)"


def error_body(shape: Shape, path: str, status: int, message: str | None) -> tuple[bytes, str]:
    """The body and content type of an injected ``status`` error for a request to ``path``."""
    if shape == "auto":
        shape = shape_for(path)
    text = message or default_message(status)
    if shape == "text":
        return f"{status} {text}\n".encode(), "text/plain; charset=utf-8"
    body: dict[str, object]
    if shape == "google":
        body = {"error": {"code": status, "message": text, "status": GOOGLE_STATUS.get(status, "UNKNOWN")}}
    elif shape == "replicate":
        body = {"title": _phrase(status), "detail": text, "status": status}
    elif shape == "minimax":  # {"base_resp": {"status_code", "status_msg"}}, kept with the HTTP status
        body = {"base_resp": {"status_code": MINIMAX_CODE.get(status, 2013 if status < 500 else 1000),
                              "status_msg": text}}  # fmt: skip
    elif shape == "dashscope":  # {"request_id", "code", "message"}
        body = {"request_id": "emulated-fault", "code": DASHSCOPE_CODE.get(status, "InternalError"), "message": text}
    elif shape == "runway":
        body = {"error": text}
    elif shape == "luma":
        body = {"detail": text}
    elif shape == "openrouter":
        body = {"error": {"code": status, "message": text, "metadata": {}}, "user_id": None}
    elif shape == "fal":
        body = {"detail": text, "error_type": FAL_ERROR_TYPE.get(status, "internal_error")}
    elif shape == "zhipu":
        body = {"error": {"code": ZHIPU_CODE.get(status, str(status)), "message": text}}
    elif shape == "kling":
        body = {"code": KLING_CODE.get(status, 5000 if status >= 500 else 1200), "message": text,
                "request_id": "emulated-fault"}  # fmt: skip
    else:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        if status == 429:
            kind = "requests"
        elif status in (401, 403):
            kind = "authentication_error"
        code = "rate_limit_exceeded" if status == 429 else None
        body = {"error": {"message": text, "type": kind, "param": None, "code": code}}
    return json.dumps(body, ensure_ascii=False).encode(), "application/json"
