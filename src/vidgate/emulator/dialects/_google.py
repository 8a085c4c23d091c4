"""What the emulated Google APIs share: the error envelope, API-key and OAuth checks, the Files API download.

Google error body: ``{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.dialects._common import EmuHTTPError, json_object
from vidgate.emulator.files import job_bytes, job_video_response
from vidgate.emulator.state import EmuJob, EmulatorState

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_B64 = re.compile(r"^[A-Za-z0-9+/_\-]+={0,2}$")


class GoogleError(EmuHTTPError):
    """An error answered in Google's envelope."""

    def __init__(self, status: int, message: str, rpc_status: str | None = None) -> None:
        self.rpc_status = rpc_status or STATUS_NAMES.get(status, "UNKNOWN")
        super().__init__(status, message, self.rpc_status)

    def response(self) -> JSONResponse:
        body = {"error": {"code": self.status, "message": self.message, "status": self.rpc_status}}
        return JSONResponse(body, status_code=self.status)


def bad(message: str) -> GoogleError:
    return GoogleError(400, message)


def unknown_fields(where: str, given: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise bad(f"Invalid JSON payload received. Unknown name \"{extra[0]}\" at '{where}': Cannot find field.")


def _key_ok(key: str, state: EmulatorState) -> bool:
    return bool(key) and any(hmac.compare_digest(key.encode(), k.encode()) for k in state.config.api_keys)


def require_api_key(request: Request, state: EmulatorState) -> None:
    """``x-goog-api-key`` header or ``?key=`` query parameter, as the Gemini API accepts."""
    key = request.headers.get("x-goog-api-key") or request.query_params.get("key", "")
    if not key:
        raise GoogleError(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
            "PERMISSION_DENIED",
        )
    if not _key_ok(key, state):
        raise GoogleError(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")


def require_oauth(request: Request, state: EmulatorState) -> None:
    """``Authorization: Bearer <access token>``; the emulator accepts its API keys as tokens."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not _key_ok(token.strip(), state):
        raise GoogleError(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
            "other valid authentication credential.",
        )


async def google_json(request: Request) -> dict[str, Any]:
    try:
        return await json_object(request)
    except GoogleError:
        raise
    except EmuHTTPError as exc:
        raise bad(exc.message) from None


def check_b64(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value or not _B64.match(value):
        raise bad(f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed")
    try:
        base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value or "_" in value else None)
    except (binascii.Error, ValueError):
        raise bad(f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed") from None


def finished_ok(state: EmulatorState, job: EmuJob) -> bool:
    """A Google job whose video exists: rendered, not failed, not cancelled."""
    return (
        job.dialect.startswith("google")
        and state.phase(job)[0] == "done"
        and not job.fail_reason
        and not job.meta.get("cancelled")
    )


def video_bytes(job: EmuJob) -> bytes:
    return job_bytes(job)  # per-job distinct bytes, as /_emulator/truth hashes them


def video_b64(job: EmuJob) -> str:
    return base64.b64encode(video_bytes(job)).decode("ascii")


def file_uri(base_url: str, version: str, job: EmuJob) -> str:
    return f"{base_url.rstrip('/')}/{version}/files/{job.file_token}"


def files_routes(state: EmulatorState) -> list[Route]:
    """``GET /{v}/files/{id}`` (metadata) and ``GET /{v}/files/{id}:download?alt=media`` (the bytes, key required)."""

    async def download(request: Request) -> Response:
        state.count(f"GET /{request.url.path.split('/')[1]}/files/{{id}}:download")
        require_api_key(request, state)
        name = request.path_params["name"]
        if not name.endswith(":download"):
            return await metadata(request, name)
        job = state.files.get(name.removesuffix(":download"))
        if job is None or not finished_ok(state, job):
            raise GoogleError(404, f"File {name.removesuffix(':download')} not found.")
        if request.query_params.get("alt") != "media":
            raise bad("the download needs alt=media")
        return await job_video_response(request, state, job)  # Range, ETag; the bytes /_emulator/truth hashes

    async def metadata(request: Request, name: str) -> Response:
        job = state.files.get(name)
        if job is None or not finished_ok(state, job):
            raise GoogleError(404, f"File {name} not found.")
        return JSONResponse(
            {
                "name": f"files/{name}",
                "mimeType": "video/mp4",
                "state": "ACTIVE",
                "uri": file_uri(str(request.base_url), request.url.path.split("/")[1], job),
            }
        )

    return [Route(f"/{v}/files/{{name}}", download, methods=["GET"]) for v in ("v1beta", "v1")]
