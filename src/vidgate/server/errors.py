"""Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}`` (+ ``problems`` per field).

vidgate's own exceptions map here: a ``ValidationError`` becomes a 400 whose ``param`` is the first bad
field (in the API's own field names) and whose ``problems`` list has one entry per field; a provider
that refused becomes the provider's status; unknown outcomes never surface as errors (the job says so).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from vidgate.errors import (
    AuthenticationError,
    ConfigurationError,
    ImageError,
    MissingCredentialsError,
    ProviderHTTPError,
    RateLimitError,
    TransportError,
    UnknownModelError,
    ValidationError,
    VidgateError,
)
from vidgate.problems import Surface, field_path, show_value
from vidgate.server.middleware import BodyTooLarge, too_large
from vidgate.server.responses import JSONResponse
from vidgate.store.errors import JobNotFoundError

log = logging.getLogger("vidgate.server")

# vidgate request fields -> the OpenAI API's names for them (the relay's names are mostly vidgate's own)
OPENAI_FIELDS = {"duration": "seconds", "images": "input_reference", "aspect_ratio": "size", "resolution": "size"}


class APIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
        problems: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.kind = kind
        self.problems = problems
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}
        if self.problems:
            error["problems"] = self.problems
        return {"error": error}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def not_found(what: str, ident: str, param: str = "video_id") -> APIError:
    return APIError(404, f"No {what} with id '{ident}' for this API key.", param=param, code="not_found")


def _field(name: str, names: dict[str, str]) -> str:
    head, _, rest = name.partition("[")
    head, _, tail = head.partition(".")
    mapped = names.get(head, head)
    return mapped + (f".{tail}" if tail else "") + (f"[{rest}" if rest else "")


def http_surface(names: dict[str, str]) -> Surface:
    """Suggestions in this API's own field names (``"seconds": "10"`` on /v1), never the CLI's flags."""
    return Surface("http", names=tuple(names.items()), string_fields=frozenset({"seconds"}) & set(names.values()))


def from_vidgate(exc: VidgateError, names: dict[str, str] | None = None) -> APIError:
    """The API error for a vidgate exception raised while handling a request."""
    names = OPENAI_FIELDS if names is None else names
    if isinstance(exc, ValidationError):
        surface = http_surface(names)
        problems = [
            {"param": _field(p.field, names), "message": p.explain(surface), "allowed": p.allowed or None}
            for p in exc.problems
        ]
        return APIError(
            400,
            exc.render(surface),
            param=problems[0]["param"] if problems else None,
            code="invalid_value",
            problems=problems,
        )
    if isinstance(exc, UnknownModelError):
        return APIError(400, exc.worded("Call GET /v1/models"), param="model", code="model_not_found")
    if isinstance(exc, MissingCredentialsError):
        return APIError(
            503,
            f"This gateway cannot reach {exc.provider}: its operator must set {exc.env_var}.",
            code="route_unconfigured",
            kind="server_error",
        )
    if isinstance(exc, ImageError):
        return APIError(400, str(exc), param=names.get("images", "images"), code="invalid_image")
    if isinstance(exc, ConfigurationError):
        return APIError(400, str(exc), code="invalid_request")
    if isinstance(exc, RateLimitError):
        return APIError(
            503,
            f"The provider is rate limiting this gateway: {exc.message}",
            code="upstream_busy",
            kind="server_error",
            headers={"retry-after": str(int(exc.retry_after or 5))},
        )
    if isinstance(exc, AuthenticationError):
        return APIError(
            502,
            f"The provider refused this gateway's credentials ({exc.status_code}).",
            code="upstream_auth",
            kind="server_error",
        )
    if isinstance(exc, ProviderHTTPError):
        status = exc.status_code if 400 <= exc.status_code < 500 else 502
        return APIError(
            status,
            f"The provider refused the request: {exc.message}",
            code=exc.code or "upstream_error",
            kind="invalid_request_error" if status < 500 else "server_error",
        )
    if isinstance(exc, TransportError):
        return APIError(
            502, f"The provider could not be reached: {exc}", code="upstream_unreachable", kind="server_error"
        )
    return APIError(500, f"{exc.__class__.__name__}: {exc}", code="internal_error", kind="server_error")


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api(request: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse(too_large(exc.limit), status_code=413, headers={"connection": "close"})

    @app.exception_handler(JobNotFoundError)
    async def _missing(request: Request, exc: JobNotFoundError) -> JSONResponse:
        return not_found("video", str(request.path_params.get("video_id", "?"))).response()

    @app.exception_handler(VidgateError)
    async def _vidgate(request: Request, exc: VidgateError) -> JSONResponse:
        names = {} if request.url.path.startswith("/v2/") else OPENAI_FIELDS
        return from_vidgate(exc, names).response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems: list[dict[str, Any]] = []
        for err in exc.errors():
            loc = tuple(x for x in err.get("loc", ()) if x not in ("body", "query", "path", "header"))
            param = field_path(loc) if loc else None
            said = str(err.get("msg", "invalid")).replace("Input should be", "should be")
            problems.append({"param": param, "message": f"{said} (got {show_value(err.get('input'))})"})
        first = problems[0] if problems else {"param": None, "message": "invalid request"}
        message = "; ".join(f"{p['param']}: {p['message']}" if p["param"] else str(p["message"]) for p in problems)
        return APIError(
            400, message or "invalid request", param=first["param"], code="invalid_value", problems=problems
        ).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(exc.status_code)
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return APIError(exc.status_code, str(exc.detail), code=code, kind=kind).response()

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return APIError(
            500, "The gateway failed unexpectedly; the error is in its log.", code="internal_error", kind="server_error"
        ).response()
