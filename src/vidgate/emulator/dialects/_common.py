"""Helpers the emulated dialects share: auth, JSON bodies and OpenAI-style errors."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from vidgate.emulator.state import EmulatorState


class EmuHTTPError(Exception):
    def __init__(self, status: int, message: str, code: str = "invalid_request", param: str | None = None) -> None:
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        super().__init__(message)

    def response(self) -> JSONResponse:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        if self.status in (401, 403):
            kind = "authentication_error"
        body = {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status)


def bearer_ok(request: Request, state: EmulatorState) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return any(hmac.compare_digest(token.encode(), k.encode()) for k in state.config.api_keys)


def require_bearer(request: Request, state: EmulatorState) -> None:
    if not bearer_ok(request, state):
        raise EmuHTTPError(401, "无效的令牌 (invalid token): send Authorization: Bearer <api key>", "invalid_api_key")


async def json_object(request: Request) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "")
    if "application/json" not in ctype:
        raise EmuHTTPError(400, f"Content-Type must be application/json, got {ctype!r}", "invalid_content_type")
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EmuHTTPError(400, f"invalid JSON body: {exc}", "invalid_json") from None
    if not isinstance(body, dict):
        raise EmuHTTPError(400, "the JSON body must be an object", "invalid_json")
    return body


_B64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}$")


def is_image_ref(value: str) -> bool:
    """A URL, a data URI or raw base64 that decodes."""
    if value.startswith(("http://", "https://")):
        return True
    payload = value
    if value.startswith("data:"):
        head, sep, payload = value.partition(",")
        if not sep or ";base64" not in head:
            return False
    if not _B64.match(payload):
        return False
    try:
        return len(base64.b64decode(payload, validate=False)) > 0
    except (binascii.Error, ValueError):
        return False


def message_parts(content: Any, where: str) -> tuple[list[str], list[str]]:
    """The texts and the image_url URLs of one chat message's content (``where`` names it in errors): the
    OpenAI chat shape the relay's chat routes take."""
    if isinstance(content, str):
        return [content], []
    if not isinstance(content, list):
        raise EmuHTTPError(400, f"{where} must be a string or an array of parts", "invalid_param", "messages")
    texts: list[str] = []
    urls: list[str] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            url = part["image_url"].get("url")
            if not isinstance(url, str) or not is_image_ref(url):
                raise EmuHTTPError(400, f"{where}[{j}].image_url.url is neither a URL nor a data URI", "invalid_param")
            urls.append(url)
        else:
            raise EmuHTTPError(400, f"{where}[{j}] must be a text or image_url part", "invalid_param", "messages")
    return texts, urls
