"""What Google's three video dialects share: google.rpc codes, failure mapping, inline-video assets, Files URLs.

Facts: shared/reference/google-2026.md and core-providers.md §2 (legacy Veo and Vertex).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict

from vidgate.errors import ProtocolError
from vidgate.providers._base import Connection, json_body
from vidgate.providers._failure_text import classify_failure
from vidgate.providers._json_stream import Base64AtPointer, elide_long_strings, parse_pointer
from vidgate.types import Asset, ErrorCode, JobError


class RpcStatus(BaseModel):
    """A ``google.rpc.Status`` as operations and interaction steps carry it."""

    model_config = ConfigDict(extra="allow")
    code: int | str | None = None
    message: str | None = None


# google.rpc.Code -> (name, vidgate code, retryable). https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto
RPC_CODES: dict[int, tuple[str, ErrorCode, bool]] = {
    1: ("CANCELLED", ErrorCode.cancelled, False),
    2: ("UNKNOWN", ErrorCode.provider_error, True),
    3: ("INVALID_ARGUMENT", ErrorCode.invalid_request, False),
    4: ("DEADLINE_EXCEEDED", ErrorCode.timeout, True),
    5: ("NOT_FOUND", ErrorCode.invalid_request, False),
    6: ("ALREADY_EXISTS", ErrorCode.invalid_request, False),
    7: ("PERMISSION_DENIED", ErrorCode.auth, False),
    8: ("RESOURCE_EXHAUSTED", ErrorCode.rate_limited, True),
    9: ("FAILED_PRECONDITION", ErrorCode.invalid_request, False),
    10: ("ABORTED", ErrorCode.provider_error, True),
    11: ("OUT_OF_RANGE", ErrorCode.invalid_request, False),
    12: ("UNIMPLEMENTED", ErrorCode.invalid_request, False),
    13: ("INTERNAL", ErrorCode.provider_error, True),
    14: ("UNAVAILABLE", ErrorCode.provider_error, True),
    15: ("DATA_LOSS", ErrorCode.provider_error, True),
    16: ("UNAUTHENTICATED", ErrorCode.auth, False),
}
_RPC_BY_NAME = {name: (code, retry) for name, code, retry in RPC_CODES.values()}
_POLICY_CODES = {ErrorCode.content_policy_input, ErrorCode.content_policy_output}


def job_error(code: Any, message: str | None, raw: Any) -> JobError:
    """A failed generation's ``JobError`` from a google.rpc code (int or name) or a string code, and text.

    Content policy wins: the wording (and a code naming safety or policy) is checked first, so a blocked
    prompt reads ``content_policy_input`` and a blocked result ``content_policy_output``.
    """
    text = (message or "").strip()
    code_text = "" if code is None else str(code)
    policy = classify_failure(f"{text} {code_text.replace('_', ' ').replace('-', ' ')}".strip(), raw=raw)
    if policy.code in _POLICY_CODES:
        return JobError(code=policy.code, message=_with_code(text, code_text), retryable=False, raw=raw)
    mapped: tuple[ErrorCode, bool] | None = None
    if isinstance(code, int) and code in RPC_CODES:
        mapped = RPC_CODES[code][1:]
    elif isinstance(code, str) and code.upper() in _RPC_BY_NAME:
        mapped = _RPC_BY_NAME[code.upper()]
    if mapped is None:
        by_text = classify_failure(text or code_text, raw=raw)
        return by_text.model_copy(update={"message": _with_code(text, code_text)})
    return JobError(code=mapped[0], message=_with_code(text, code_text), retryable=mapped[1], raw=raw)


def _with_code(message: str, code: str) -> str:
    if not message:
        return f"the provider reported a failure ({code or 'no code'}) without a message"
    return f"{message} ({code})" if code else message


def rai_filtered_error(count: int | None, reasons: list[str] | None, raw: Any) -> JobError:
    """Every video was withheld by Google's safety filters: a policy failure, never a success."""
    why = "; ".join(reasons or []) or "no reason given"
    return JobError(
        code=ErrorCode.content_policy_output,
        message=f"Google's safety filters withheld {count or 'all'} generated video(s): {why}",
        retryable=False,
        raw=raw,
    )


def lean_json(provider: str, response: httpx.Response) -> Any:
    """The JSON body with long base64 strings (inline videos) elided, so it is small to parse and keep."""
    raw = response.content
    if len(raw) > 4096:
        try:
            return json.loads(elide_long_strings(raw))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProtocolError(provider, f"expected JSON, got {raw[:200]!r}", raw[:2000]) from None
    return json_body(provider, response)


# ---------------------------------------------------------------- inline videos and authenticated downloads


def inline_asset(resource_url: str, json_pointer: str, mime_type: str | None) -> Asset:
    """A video that lives as base64 at ``json_pointer`` inside the JSON at ``resource_url``.

    The URL fragment is the JSON Pointer (RFC 6901): ``https://.../interactions/v1_x#/steps/0/content/0/data``.
    """
    return Asset(kind="video", url=f"{resource_url}#{json_pointer}", mime_type=mime_type or "video/mp4")


def split_inline(asset: Asset) -> tuple[str, str] | None:
    """``(resource_url, json_pointer)`` for an inline asset, else None."""
    if asset.url is None or "#/" not in asset.url:
        return None
    url, _, fragment = asset.url.partition("#")
    parse_pointer(fragment)
    return url, fragment


def inline_transform(asset: Asset) -> Base64AtPointer | None:
    parts = split_inline(asset)
    return Base64AtPointer(parts[1]) if parts else None


def same_host(url: str, conn: Connection) -> bool:
    """Send credentials only to the host they belong to (never to a pre-signed or third-party URL)."""
    return (urlsplit(url).hostname or "").lower() == (urlsplit(conn.base_url).hostname or "").lower()


def files_download_url(uri: str) -> str:
    """A Gemini Files API URI as a media download: ``.../files/abc`` -> ``.../files/abc:download?alt=media``."""
    parts = urlsplit(uri)
    path = parts.path
    if "/files/" in path and not path.endswith(":download"):
        path += ":download"
    query = parts.query
    if "/files/" in path and "alt=media" not in query:
        query = f"{query}&alt=media" if query else "alt=media"
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def keyed_get(url: str, conn: Connection) -> httpx.Request:
    """GET with ``x-goog-api-key`` when the URL is on the provider's own host, plain otherwise."""
    headers = {"x-goog-api-key": conn.api_key} if same_host(url, conn) else {}
    return httpx.Request("GET", url, headers=headers)
